package dataset

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Column coercion for ingest: source files need not use the canonical
// Parquet types. Strings may be dictionary-encoded or large; numbers may be
// any integer or float type or numeric strings; event_time may be a
// timestamp of any unit, an int64 epoch (seconds, millis, micros or nanos,
// told apart by magnitude), a date, or a string in RFC 3339 or
// "2006-01-02 15:04:05" form (UTC unless it carries an offset). Times are
// truncated to microseconds, the canonical precision.

// requiredColumns must be present in every input file. The entity keys
// (order_id, sku, location, carrier) are optional: absent means empty,
// which the schema already uses for "does not apply". extras is optional.
var requiredColumns = []string{"event_id", "event_time", "event_type", "quantity", "price"}

// canonicalColumns are the columns of schema v1, in order.
var canonicalColumns = []string{"event_id", "event_time", "event_type", "order_id", "sku", "location", "carrier", "quantity", "price", "extras"}

// stringAt returns the value at row i as text; ok is false for null.
func stringAt(arr arrow.Array, i int) (s string, ok bool) {
	if arr.IsNull(i) {
		return "", false
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	case *array.StringView:
		return a.Value(i), true
	case *array.Binary:
		return string(a.Value(i)), true
	case *array.Dictionary:
		return stringAt(a.Dictionary(), a.GetValueIndex(i))
	case *array.Timestamp:
		t, err := timeAt(arr, i)
		if err != nil {
			return a.ValueStr(i), true
		}
		return t.Format(time.RFC3339Nano), true
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), true
	}
	return arr.ValueStr(i), true
}

// floatAt returns the value at row i as a float64.
func floatAt(arr arrow.Array, i int) (float64, error) {
	if arr.IsNull(i) {
		return 0, fmt.Errorf("null")
	}
	switch a := arr.(type) {
	case *array.Float64:
		return a.Value(i), nil
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Int64:
		return float64(a.Value(i)), nil
	case *array.Int32:
		return float64(a.Value(i)), nil
	case *array.Int16:
		return float64(a.Value(i)), nil
	case *array.Int8:
		return float64(a.Value(i)), nil
	case *array.Uint64:
		return float64(a.Value(i)), nil
	case *array.Uint32:
		return float64(a.Value(i)), nil
	case *array.Uint16:
		return float64(a.Value(i)), nil
	case *array.Uint8:
		return float64(a.Value(i)), nil
	}
	s, _ := stringAt(arr, i)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.DateOnly,
}

// timeAt returns the value at row i as a UTC time truncated to microseconds.
func timeAt(arr arrow.Array, i int) (time.Time, error) {
	if arr.IsNull(i) {
		return time.Time{}, fmt.Errorf("null")
	}
	var t time.Time
	switch a := arr.(type) {
	case *array.Timestamp:
		typ := a.DataType().(*arrow.TimestampType)
		t = a.Value(i).ToTime(typ.Unit)
		if typ.TimeZone != "" && typ.TimeZone != "UTC" {
			// Instants are stored UTC-normalised whatever the zone says.
			t = t.UTC()
		}
	case *array.Int64:
		t = epoch(a.Value(i))
	case *array.Date32:
		t = a.Value(i).ToTime()
	case *array.Date64:
		t = a.Value(i).ToTime()
	default:
		s, _ := stringAt(arr, i)
		s = strings.TrimSpace(s)
		var err error
		for _, layout := range timeLayouts {
			if t, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot parse %q as a time", s)
		}
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// epoch reads an integer epoch whose unit is told apart by magnitude: any
// date between 1973 and 5138 has a unique unit.
func epoch(v int64) time.Time {
	abs := v
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs >= 1e17:
		return time.Unix(0, v)
	case abs >= 1e14:
		return time.UnixMicro(v)
	case abs >= 1e11:
		return time.UnixMilli(v)
	default:
		return time.Unix(v, 0)
	}
}

// mapAt returns a map<string, string>-like column's entries at row i.
func mapAt(a *array.Map, i int, into map[string]string) {
	if a.IsNull(i) {
		return
	}
	start, end := a.ValueOffsets(i)
	keys, items := a.Keys(), a.Items()
	for j := int(start); j < int(end); j++ {
		k, ok := stringAt(keys, j)
		if !ok {
			continue
		}
		v, _ := stringAt(items, j)
		into[k] = v
	}
}
