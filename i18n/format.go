package i18n

import (
	"fmt"
	"html/template"
	"strconv"
	"time"
)

// value writes one placeholder's value the language's way. In HTML of a right-to-left
// language each value is isolated in <bdi>, so that an address, a URL or a code written left
// to right keeps its own order and does not reorder the sentence around it (UAX #9, 2.7).
// Plain text gets no isolate characters: they would stick to a copied code or URL.
func (l *Lang) value(v any, html bool) string {
	s := l.plainValue(v, html)
	if html && l.dir == "rtl" {
		return "<bdi>" + s + "</bdi>"
	}
	return s
}

func (l *Lang) plainValue(v any, html bool) string {
	var s string
	switch v := v.(type) {
	case template.HTML:
		if html {
			return string(v)
		}
		s = string(v)
	case string:
		s = v
	case int:
		s = strconv.Itoa(v)
	case time.Duration:
		s = l.Duration(v)
	case time.Time:
		s = l.Time(v)
	default:
		s = fmt.Sprint(v)
	}
	if html {
		return template.HTMLEscapeString(s)
	}
	return s
}

const day = 24 * time.Hour

// Duration writes d as a count of its largest whole unit, "2 hours", "90 minutes" or
// "7 days", in the language; what does not divide evenly is written in minutes, rounded up.
func (l *Lang) Duration(d time.Duration) string {
	switch {
	case d >= day && d%day == 0:
		return l.Text("duration.days", "n", int(d/day))
	case d >= time.Hour && d%time.Hour == 0:
		return l.Text("duration.hours", "n", int(d/time.Hour))
	}
	return l.Text("duration.minutes", "n", max(1, int((d+time.Minute-1)/time.Minute)))
}

// Wait writes how long to wait, rounded up to a whole minute under an hour and to a whole
// hour beyond: "1 minute", "5 minutes", "2 hours".
func (l *Lang) Wait(d time.Duration) string {
	if d <= time.Hour {
		return l.Duration(((d + time.Minute - 1) / time.Minute) * time.Minute)
	}
	return l.Duration(((d + time.Hour - 1) / time.Hour) * time.Hour)
}

// Time writes t, in UTC, as the language writes a date and a time of day: the message
// date.format with {day}, {month} (a name from date.months), {year} and {time} (24-hour).
func (l *Lang) Time(t time.Time) string {
	t = t.UTC()
	month := strconv.Itoa(int(t.Month()))
	if len(l.months) == 12 {
		month = l.months[t.Month()-1]
	}
	return l.Text("date.format", "day", strconv.Itoa(t.Day()), "month", month,
		"year", strconv.Itoa(t.Year()), "time", t.Format("15:04"))
}
