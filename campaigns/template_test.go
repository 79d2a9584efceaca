package campaigns

import (
	"testing"

	"github.com/parleyhq/parley"
)

func TestTemplates(t *testing.T) {
	ada := Recipient{Name: "Ada Lovelace King", Phone: "+14155550100", Attributes: map[string]any{"plan": "gold", "visits": float64(3), "rating": 4.5, "vip": true}}
	nobody := Recipient{Phone: "+14155550101"}
	tests := []struct {
		name, body string
		r          Recipient
		want       string
	}{
		{"no fields", "Sale ends Friday", ada, "Sale ends Friday"},
		{"first name", "Hi {{first_name}}!", ada, "Hi Ada!"},
		{"last name keeps the rest", "{{last_name}}", ada, "Lovelace King"},
		{"full name and phone", "{{name}} at {{phone}}", ada, "Ada Lovelace King at +14155550100"},
		{"spaces inside braces", "Hi {{ first_name }}", ada, "Hi Ada"},
		{"fallback unused", "Hi {{first_name|there}}", ada, "Hi Ada"},
		{"fallback used", "Hi {{first_name|there}}", nobody, "Hi there"},
		{"empty fallback", "Hi{{first_name|}}!", nobody, "Hi!"},
		{"spaces around the fallback", "Hi {{ first_name | there }}!", nobody, "Hi there!"},
		{"spaces around the field, fallback unused", "Hi {{ first_name | there }}!", ada, "Hi Ada!"},
		{"spaces on one side only", "Hi {{first_name |there}}, {{ last_name|friend }}.", nobody, "Hi there, friend."},
		{"spaces inside the fallback are kept", "Hi {{first_name| dear friend }}!", nobody, "Hi dear friend!"},
		{"a blank fallback is empty", "Hi{{ first_name |   }}!", nobody, "Hi!"},
		{"spaces around an attribute", "{{ attributes.plan | standard }} plan", nobody, "standard plan"},
		{"string attribute", "Your {{attributes.plan}} plan", ada, "Your gold plan"},
		{"number attribute", "{{attributes.visits}} visits", ada, "3 visits"},
		{"fractional attribute", "{{attributes.rating}} stars", ada, "4.5 stars"},
		{"boolean attribute", "vip={{attributes.vip}}", ada, "vip=true"},
		{"missing attribute falls back", "{{attributes.plan|standard}}", nobody, "standard"},
		{"emoji and accents pass through", "Olá {{first_name}} 👋", ada, "Olá Ada 👋"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := ParseTemplate(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.Render(tt.r); got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplateErrorsAtCreation(t *testing.T) {
	for _, body := range []string{"Hi {{firstname}}", "{{email}}", "{{attributes.}}", "Hi {{first_name", "oops }}", "{{}}"} {
		t.Run(body, func(t *testing.T) {
			_, err := ParseTemplate(body)
			var pe *parley.Error
			if !parley.IsKind(err, parley.EINVALID) || !errorAs(err, &pe) || pe.Fields["body"] == "" {
				t.Errorf("ParseTemplate(%q) = %v, want a 422 naming body", body, err)
			}
		})
	}
}

func errorAs(err error, target **parley.Error) bool {
	e, ok := err.(*parley.Error)
	if ok {
		*target = e
	}
	return ok
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"Hi {{first_name|there}}", "{{attributes.plan}}", "{{", "}}{{", "{{name|{{x}}}}", "Hi {{ first_name | there }}!"} {
		f.Add(s, "Ada Lovelace")
	}
	f.Fuzz(func(t *testing.T, body, name string) {
		tpl, err := ParseTemplate(body)
		if err != nil {
			return
		}
		_ = tpl.Render(Recipient{Name: name, Attributes: map[string]any{"plan": name}})
	})
}
