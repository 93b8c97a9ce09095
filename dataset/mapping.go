package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mapping maps the columns of a user's table (CSV or Parquet) to canonical
// event fields, so that ImportMapped converts a new table with no code
// change. It is read from JSON (ParseMapping, ReadMapping); the format is
// described in the package documentation under "Mapping files".
//
// Decoding never stops at the first problem: unknown fields and values of
// the wrong JSON type are remembered, and Validate reports them together
// with every other problem, as one errors.Join of *MappingError.
type Mapping struct {
	// Name names the mapping in results ("mapped:NAME"). Optional.
	Name string
	// Format is "csv" or "parquet"; empty means by the input's extension.
	Format string

	EventID   *FieldMap
	EventTime *TimeMap
	EventType *TypeMap
	OrderID   *FieldMap
	SKU       *FieldMap
	Location  *FieldMap
	Carrier   *FieldMap
	Quantity  *FieldMap
	Price     *FieldMap
	// Extras lists the columns kept in the extras map.
	Extras []ExtraMap

	problems []error // found while decoding
}

// FieldMap fills one canonical field from exactly one of: a column, a
// constant Value, or a Template such as "ord-{order_id}-{_row}" whose
// {names} are columns ({_row} is the 0-based data row). Quantity and price
// take a column or a numeric Value, no template.
type FieldMap struct {
	Column   string `json:"column,omitempty"`
	Value    string `json:"value,omitempty"`
	Template string `json:"template,omitempty"`

	hasValue bool
}

// TimeMap fills event_time from Column, trying Formats in order.
type TimeMap struct {
	Column string `json:"column"`
	// Formats are Go layouts ("2006-01-02 15:04:05", read as UTC unless
	// the layout has a zone) or the names rfc3339, unix (seconds), unix_ms,
	// unix_us, unix_ns and auto (what Ingest coerces: RFC 3339, "2006-01-02
	// 15:04:05", dates, integer epochs told apart by magnitude). Empty
	// means auto.
	Formats []string `json:"formats,omitempty"`
}

// TypeMap fills event_type with a constant Value, or from Column, whose
// values are mapped through Values (a value not in it rejects the row);
// without Values the column must hold canonical event type names.
type TypeMap struct {
	Column string            `json:"column,omitempty"`
	Values map[string]string `json:"values,omitempty"`
	Value  string            `json:"value,omitempty"`
}

// ExtraMap keeps Column in extras under Key. Rest stands for every column
// no other part of the mapping uses (written "*rest*").
type ExtraMap struct {
	Key, Column string
	Rest        bool
}

// mappingRest is the extras entry that stands for every unused column.
const mappingRest = "*rest*"

// mappingFields are the JSON keys of a mapping file, in documentation order.
var mappingFields = []string{"name", "format", "event_id", "event_time", "event_type", "order_id", "sku", "location", "carrier", "quantity", "price", "extras"}

// ReadMapping reads a JSON mapping file. Only unreadable files and JSON
// syntax errors fail here; every other problem waits for Validate.
func ReadMapping(path string) (Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, fmt.Errorf("dataset: mapping: %w", err)
	}
	m, err := ParseMapping(b)
	if err != nil {
		return Mapping{}, fmt.Errorf("dataset: mapping %s: %w", path, err)
	}
	return m, nil
}

// ParseMapping decodes a JSON mapping. See ReadMapping.
func ParseMapping(data []byte) (Mapping, error) {
	var m Mapping
	if err := json.Unmarshal(data, &m); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// UnmarshalJSON decodes a mapping, remembering problems instead of failing
// on them; only a document that is not a JSON object is an error.
func (m *Mapping) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*m = Mapping{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := raw[k]
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &m.Name)
		case "format":
			err = json.Unmarshal(v, &m.Format)
		case "event_id":
			m.EventID, err = decodeFieldMap(v)
		case "event_time":
			m.EventTime, err = decodeTimeMap(v)
		case "event_type":
			m.EventType, err = decodeTypeMap(v)
		case "order_id":
			m.OrderID, err = decodeFieldMap(v)
		case "sku":
			m.SKU, err = decodeFieldMap(v)
		case "location":
			m.Location, err = decodeFieldMap(v)
		case "carrier":
			m.Carrier, err = decodeFieldMap(v)
		case "quantity":
			m.Quantity, err = decodeFieldMap(v)
		case "price":
			m.Price, err = decodeFieldMap(v)
		case "extras":
			m.Extras, err = decodeExtras(v)
		default:
			m.problems = append(m.problems, &MappingError{k, "unknown field; the fields are " + strings.Join(mappingFields, ", ")})
			continue
		}
		if err != nil {
			m.problems = append(m.problems, &MappingError{k, strings.TrimPrefix(err.Error(), "json: ")})
		}
	}
	return nil
}

// strictDecode decodes v into dst, refusing unknown keys.
func strictDecode(v json.RawMessage, dst any) error {
	d := json.NewDecoder(bytes.NewReader(v))
	d.DisallowUnknownFields()
	return d.Decode(dst)
}

// shorthand returns v as a string when it is a JSON string.
func shorthand(v json.RawMessage) (string, bool) {
	var s string
	if len(bytes.TrimSpace(v)) > 0 && bytes.TrimSpace(v)[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s, true
	}
	return "", false
}

func decodeFieldMap(v json.RawMessage) (*FieldMap, error) {
	if s, ok := shorthand(v); ok {
		return &FieldMap{Column: s}, nil
	}
	var f struct {
		Column   string          `json:"column"`
		Value    json.RawMessage `json:"value"`
		Template string          `json:"template"`
	}
	if err := strictDecode(v, &f); err != nil {
		return nil, fmt.Errorf("want a column name or an object with column, value or template: %w", err)
	}
	fm := &FieldMap{Column: f.Column, Template: f.Template}
	if len(f.Value) > 0 && string(f.Value) != "null" {
		fm.hasValue = true
		if s, ok := shorthand(f.Value); ok {
			fm.Value = s
		} else {
			var n json.Number
			if err := json.Unmarshal(f.Value, &n); err != nil {
				return nil, fmt.Errorf("value: want a string or a number, got %s", f.Value)
			}
			fm.Value = n.String()
		}
	}
	return fm, nil
}

func decodeTimeMap(v json.RawMessage) (*TimeMap, error) {
	if s, ok := shorthand(v); ok {
		return &TimeMap{Column: s}, nil
	}
	var t TimeMap
	if err := strictDecode(v, &t); err != nil {
		return nil, fmt.Errorf("want a column name or an object with column and formats: %w", err)
	}
	return &t, nil
}

func decodeTypeMap(v json.RawMessage) (*TypeMap, error) {
	if s, ok := shorthand(v); ok {
		return &TypeMap{Column: s}, nil
	}
	var t TypeMap
	if err := strictDecode(v, &t); err != nil {
		return nil, fmt.Errorf("want a column name or an object with column and values, or value: %w", err)
	}
	return &t, nil
}

func decodeExtras(v json.RawMessage) ([]ExtraMap, error) {
	var list []string
	if err := json.Unmarshal(v, &list); err == nil {
		out := make([]ExtraMap, 0, len(list))
		for _, c := range list {
			out = append(out, ExtraMap{Key: c, Column: c, Rest: c == mappingRest})
		}
		return out, nil
	}
	var obj map[string]string
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, fmt.Errorf(`want a list of columns (or "*rest*") or an object of extras key to column`)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]ExtraMap, 0, len(obj))
	for _, k := range keys {
		out = append(out, ExtraMap{Key: k, Column: obj[k], Rest: obj[k] == mappingRest})
	}
	return out, nil
}

// Validate checks m against an input's header (its column names) and
// returns every problem at once, joined, each a *MappingError; nil when the
// mapping can convert the input.
func (m Mapping) Validate(header []string) error {
	_, err := m.compile(header)
	return err
}

// compiledMapping is a Mapping resolved against a header: column indexes,
// parsed templates and time parsers.
type compiledMapping struct {
	name                                 string
	header                               []string
	eventID, orderID, sku, location, car textField
	quantity, price                      numField
	timeCol                              int
	timeFormats                          []string
	timeParsers                          []func(string) (time.Time, error)
	typeCol                              int // -1: constant typeValue
	typeValue                            string
	typeValues                           map[string]string
	extras                               []extraCol
}

type extraCol struct {
	key string
	col int
}

// textField is a compiled FieldMap for a text field; zero value means "".
type textField struct {
	set   bool
	col   int    // >= 0: a column
	value string // constant when col < 0 and parts is nil
	parts []tmplPart
}

type tmplPart struct {
	lit string
	col int // -1: literal; -2: the row number
}

type numField struct {
	set   bool
	col   int
	value float64
}

// eval returns the field's value for a row. A template with an empty
// column gives "" and that column's index as empty, so that an id built
// from nothing is refused rather than shared ("ord--placed").
func (f textField) eval(rec []string, row int64) (s string, empty int) {
	switch {
	case !f.set:
		return "", -1
	case f.col >= 0:
		return rec[f.col], -1
	case f.parts == nil:
		return f.value, -1
	}
	var b strings.Builder
	for _, p := range f.parts {
		switch p.col {
		case -1:
			b.WriteString(p.lit)
		case -2:
			b.WriteString(strconv.FormatInt(row, 10))
		default:
			if rec[p.col] == "" {
				return "", p.col
			}
			b.WriteString(rec[p.col])
		}
	}
	return b.String(), -1
}

func (m Mapping) compile(header []string) (*compiledMapping, error) {
	problems := slices.Clone(m.problems)
	bad := func(field, format string, args ...any) {
		problems = append(problems, &MappingError{field, fmt.Sprintf(format, args...)})
	}
	index := make(map[string]int, len(header))
	for i, h := range header {
		index[h] = i
	}
	used := map[int]bool{}
	column := func(field, name string) int {
		i, ok := index[name]
		if !ok {
			bad(field, "column %q is not in the input header (%s)", name, strings.Join(header, ", "))
			return -1
		}
		used[i] = true
		return i
	}
	c := &compiledMapping{name: m.Name, header: header, timeCol: -1, typeCol: -1}

	switch m.Format {
	case "", "csv", "parquet":
	default:
		bad("format", "%q is not csv or parquet", m.Format)
	}

	text := func(field string, f *FieldMap, required bool) textField {
		if f == nil {
			if required {
				bad(field, "required: map it to a column or a template")
			}
			return textField{}
		}
		n := 0
		for _, set := range []bool{f.Column != "", f.hasValue, f.Template != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			bad(field, "set exactly one of column, value or template (%d set)", n)
			return textField{}
		}
		tf := textField{set: true, col: -1}
		switch {
		case f.Column != "":
			tf.col = column(field, f.Column)
		case f.hasValue:
			if field == "event_id" {
				bad(field, "a constant would give every row the same id; use a column or a template")
			}
			tf.value = f.Value
		default:
			tf.parts = parseTemplate(field, f.Template, column, bad)
			if tf.parts == nil {
				return textField{} // already reported
			}
			if field == "event_id" && !slices.ContainsFunc(tf.parts, func(p tmplPart) bool { return p.col != -1 }) {
				bad(field+".template", "%q names no column, so every row would get the same id", f.Template)
			}
		}
		return tf
	}
	num := func(field string, f *FieldMap) numField {
		if f == nil {
			return numField{}
		}
		switch {
		case f.Template != "":
			bad(field, "a template is for text fields; use a column or a numeric value")
		case f.Column != "" && f.hasValue:
			bad(field, "set column or value, not both")
		case f.Column != "":
			return numField{set: true, col: column(field, f.Column)}
		case f.hasValue:
			v, err := strconv.ParseFloat(f.Value, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				bad(field+".value", "%q is not a finite, non-negative number", f.Value)
			}
			return numField{set: true, col: -1, value: v}
		default:
			bad(field, "set column or value")
		}
		return numField{}
	}

	c.eventID = text("event_id", m.EventID, true)
	c.orderID = text("order_id", m.OrderID, false)
	c.sku = text("sku", m.SKU, false)
	c.location = text("location", m.Location, false)
	c.car = text("carrier", m.Carrier, false)
	c.quantity = num("quantity", m.Quantity)
	c.price = num("price", m.Price)

	if t := m.EventTime; t == nil {
		bad("event_time", "required: map it to a column, with its formats")
	} else {
		if t.Column == "" {
			bad("event_time.column", "required")
		} else {
			c.timeCol = column("event_time", t.Column)
		}
		c.timeFormats = t.Formats
		if len(c.timeFormats) == 0 {
			c.timeFormats = []string{"auto"}
		}
		for i, f := range c.timeFormats {
			p, err := timeParser(f)
			if err != nil {
				bad(fmt.Sprintf("event_time.formats[%d]", i), "%v", err)
			}
			c.timeParsers = append(c.timeParsers, p)
		}
	}

	if t := m.EventType; t == nil {
		bad("event_type", "required: a constant value or a column (with a values map)")
	} else {
		switch {
		case (t.Column != "") == (t.Value != ""):
			bad("event_type", "set exactly one of column or value")
		case t.Value != "":
			if !EventType(t.Value).Valid() {
				bad("event_type.value", "%q is not a schema v1 event type", t.Value)
			}
			if len(t.Values) > 0 {
				bad("event_type.values", "a values map needs a column, not a value")
			}
			c.typeValue = t.Value
		default:
			c.typeCol = column("event_type", t.Column)
			keys := make([]string, 0, len(t.Values))
			for k := range t.Values {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if !EventType(t.Values[k]).Valid() {
					bad(fmt.Sprintf("event_type.values[%q]", k), "%q is not a schema v1 event type", t.Values[k])
				}
			}
			c.typeValues = t.Values
		}
	}

	rest := false
	keys := map[string]bool{}
	for i, x := range m.Extras {
		field := fmt.Sprintf("extras[%d]", i)
		switch {
		case x.Rest:
			rest = true
		case x.Column == "" || x.Key == "":
			bad(field, "empty column or key")
		case keys[x.Key]:
			bad(field, "key %q appears twice", x.Key)
		default:
			keys[x.Key] = true
			if col := column(field, x.Column); col >= 0 {
				c.extras = append(c.extras, extraCol{x.Key, col})
			}
		}
	}
	if rest {
		for i, h := range header {
			if !used[i] && !keys[h] {
				c.extras = append(c.extras, extraCol{h, i})
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return c, nil
}

// parseTemplate splits "a-{col}-{_row}" into parts, resolving columns.
func parseTemplate(field, s string, column func(string, string) int, bad func(string, string, ...any)) []tmplPart {
	var parts []tmplPart
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			parts = append(parts, tmplPart{lit: s, col: -1})
			break
		}
		if s[i] == '}' {
			bad(field+".template", "unmatched }")
			return nil
		}
		if i > 0 {
			parts = append(parts, tmplPart{lit: s[:i], col: -1})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			bad(field+".template", "unclosed {")
			return nil
		}
		name := s[i+1 : i+j]
		switch name {
		case "":
			bad(field+".template", "empty {}")
		case "_row":
			parts = append(parts, tmplPart{col: -2})
		default:
			parts = append(parts, tmplPart{col: column(field+".template", name)})
		}
		s = s[i+j+1:]
	}
	if parts == nil {
		parts = []tmplPart{{col: -1}}
	}
	return parts
}

// timeParser returns the parser for one event_time format.
func timeParser(format string) (func(string) (time.Time, error), error) {
	unix := func(unit time.Duration) func(string) (time.Time, error) {
		return func(s string) (time.Time, error) {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return time.Unix(0, 0).Add(time.Duration(n) * unit), nil
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return time.Time{}, errors.New("not a number")
			}
			return time.Unix(0, int64(math.Round(f*float64(unit)))), nil
		}
	}
	switch format {
	case "auto":
		return func(s string) (time.Time, error) {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return epoch(n), nil
			}
			return parseAnyTime(s)
		}, nil
	case "rfc3339":
		return func(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }, nil
	case "unix", "unix_s":
		return unix(time.Second), nil
	case "unix_ms":
		return unix(time.Millisecond), nil
	case "unix_us":
		return unix(time.Microsecond), nil
	case "unix_ns":
		return unix(time.Nanosecond), nil
	case "":
		return nil, errors.New("empty format")
	}
	ref := time.Date(2001, 2, 3, 16, 5, 6, 0, time.UTC)
	s := ref.Format(format)
	if s == format {
		return nil, fmt.Errorf("%q is not a Go time layout (write the reference time, e.g. \"2006-01-02 15:04:05\") nor one of auto, rfc3339, unix, unix_ms, unix_us, unix_ns", format)
	}
	back, err := time.Parse(format, s)
	if err != nil {
		return nil, fmt.Errorf("layout %q cannot parse its own output: %v", format, err)
	}
	if back.Year() != 2001 {
		return nil, fmt.Errorf("layout %q has no year (2006)", format)
	}
	return func(s string) (time.Time, error) { return time.Parse(format, s) }, nil
}
