package main

import (
	"testing"

	"github.com/parleyhq/parley/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
