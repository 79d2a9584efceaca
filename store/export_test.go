package store

import "time"

// PlanSearchesWithoutStatistics makes db plan its searches as before any
// ANALYZE, so that a test reaches the plans the statistics would skip,
// until ForgetSearchStatistics.
func (db *DB) PlanSearchesWithoutStatistics() {
	none := valueStats{null: 1, freq: map[string]float64{}, other: 1}
	db.terms.mu.Lock()
	defer db.terms.mu.Unlock()
	db.terms.v = termStats{freq: map[string]float64{}, rare: 1, assignee: none, status: none}
	db.terms.at = time.Now().Add(24 * time.Hour)
}

// ForgetSearchStatistics makes the next search read the statistics again.
func (db *DB) ForgetSearchStatistics() { db.terms.forget() }
