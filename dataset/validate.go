package dataset

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ValidateEvent checks e against schema v1: a non-empty event_id, an
// event_type of the closed set, an event_time in [minTime, maxTime), and a
// finite, non-negative quantity and price. It returns nil or one
// *FieldError per failed field, joined (errors.As finds the first).
func ValidateEvent(e Event, minTime, maxTime time.Time) error {
	return errors.Join(fieldErrors(e, minTime, maxTime)...)
}

func fieldErrors(e Event, minTime, maxTime time.Time) []error {
	var errs []error
	if strings.TrimSpace(e.EventID) == "" {
		errs = append(errs, &FieldError{"event_id", "empty"})
	}
	if !EventType(e.EventType).Valid() {
		errs = append(errs, &FieldError{"event_type", strconv.Quote(e.EventType) + " is not a schema v1 event type"})
	}
	switch {
	case e.EventTime.IsZero():
		errs = append(errs, &FieldError{"event_time", "missing"})
	case e.EventTime.Before(minTime):
		errs = append(errs, &FieldError{"event_time", e.EventTime.Format(time.RFC3339Nano) + " is before " + minTime.Format(time.RFC3339)})
	case !e.EventTime.Before(maxTime):
		errs = append(errs, &FieldError{"event_time", e.EventTime.Format(time.RFC3339Nano) + " is not before " + maxTime.Format(time.RFC3339)})
	}
	errs = append(errs, checkAmount("quantity", e.Quantity)...)
	errs = append(errs, checkAmount("price", e.Price)...)
	return errs
}

func checkAmount(field string, v float64) []error {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return []error{&FieldError{field, s + " is not finite"}}
	case v < 0:
		return []error{&FieldError{field, s + " is negative"}}
	}
	return nil
}

// reason renders field errors as one quarantine reason.
func reason(file string, row int64, errs []error) string {
	var b strings.Builder
	b.WriteString("row ")
	b.WriteString(strconv.FormatInt(row, 10))
	b.WriteString(" of ")
	b.WriteString(file)
	b.WriteString(": ")
	for i, err := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	return b.String()
}
