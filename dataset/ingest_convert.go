package dataset

import (
	"errors"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// canonSchema is ArrowSchema(), built once: every record ingest writes has it.
var canonSchema = ArrowSchema()

var (
	canonTimeType  = canonSchema.Field(1).Type.(*arrow.TimestampType)
	canonExtraType = canonSchema.Field(9).Type.(*arrow.MapType)
)

// Column positions in canonSchema.
const (
	colEventID = iota
	colEventTime
	colEventType
	colOrderID
	colSKU
	colLocation
	colCarrier
	colQuantity
	colPrice
	colExtras
)

// eventTypeIndex maps a schema v1 event type to its index in EventTypes.
var eventTypeIndex = func() map[string]uint8 {
	m := make(map[string]uint8, len(EventTypes))
	for i, t := range EventTypes {
		m[string(t)] = uint8(i)
	}
	return m
}()

const microsPerDay = 86_400_000_000

// zeroTimeMicros is time.Time{} (the "missing" time) in Unix microseconds.
var zeroTimeMicros = time.Time{}.UnixMicro()

// Bits of a row's problems, as found column by column. A row with any bit
// set is quarantined; its reason is then worked out row-wise by
// quarantineRow, the same code that defines the rules, so the fast checks
// only decide which rows take that path.
const (
	badID uint8 = 1 << iota
	badType
	badTime
	badQuantity
	badPrice
)

// ingestBatch is one record batch of an input file after conversion.
type ingestBatch struct {
	// rec has canonSchema and every source row; rows that failed
	// validation hold placeholder values and are never written.
	rec arrow.RecordBatch
	// valid lists the rows that passed validation, ascending; hash, day and
	// typ have one entry per valid row: the id's hash, the UTC day (days
	// since 1970-01-01) and the index in EventTypes.
	valid []int32
	hash  []uint64
	day   []int32
	typ   []uint8
	// quarantined are the rows that failed, in row order.
	quarantined []QuarantinedRow
}

func (b *ingestBatch) release() {
	if b.rec != nil {
		b.rec.Release()
		b.rec = nil
	}
}

// converter turns source record batches of one input file into canonical
// ones, column by column.
type converter struct {
	name             string
	mem              memory.Allocator
	seed             maphash.Seed
	minMicros        int64 // valid times are in [minMicros, maxMicros)
	maxMicros        int64
	minTime, maxTime time.Time
}

func newConverter(name string, cfg IngestConfig, seed maphash.Seed) *converter {
	return &converter{
		name: name, mem: cfg.mem, seed: seed,
		minMicros: ceilMicros(cfg.MinTime), maxMicros: ceilMicros(cfg.MaxTime),
		minTime: cfg.MinTime, maxTime: cfg.MaxTime,
	}
}

// ceilMicros is the first whole microsecond at or after t.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}

// sourceColumns finds the canonical columns of a source batch (the first
// column of each name) and the unknown ones, which go to extras.
type sourceColumns struct {
	rec     arrow.RecordBatch
	col     map[string]arrow.Array
	unknown []int
}

func newSourceColumns(rec arrow.RecordBatch) sourceColumns {
	sc := sourceColumns{rec: rec, col: map[string]arrow.Array{}}
	for i, f := range rec.Schema().Fields() {
		if slices.Contains(canonicalColumns, f.Name) {
			if _, dup := sc.col[f.Name]; !dup {
				sc.col[f.Name] = rec.Column(i)
				continue
			}
		}
		sc.unknown = append(sc.unknown, i)
	}
	return sc
}

// convert validates and canonicalises src, whose first row is row first of
// the file. Columns already in canonical form are shared, not copied.
func (c *converter) convert(src arrow.RecordBatch, first int64) *ingestBatch {
	sc := newSourceColumns(src)
	n := int(src.NumRows())
	bad := make([]uint8, n)
	cols := make([]arrow.Array, len(canonicalColumns))
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, name := range canonicalColumns {
		switch i {
		case colEventTime:
			cols[i] = c.times(sc.col[name], n, bad)
		case colQuantity:
			cols[i] = c.floats(sc.col[name], n, bad, badQuantity)
		case colPrice:
			cols[i] = c.floats(sc.col[name], n, bad, badPrice)
		case colExtras:
			cols[i] = c.extras(sc, n)
		default:
			cols[i] = c.strings(sc.col[name], n)
		}
	}

	ids := cols[colEventID].(*array.String)
	types := cols[colEventType].(*array.String)
	typ := make([]uint8, n)
	for i := range n {
		if !nonBlank(ids.Value(i)) {
			bad[i] |= badID
		}
		if t, ok := eventTypeIndex[types.Value(i)]; ok {
			typ[i] = t
		} else {
			bad[i] |= badType
		}
	}

	b := &ingestBatch{}
	nvalid := 0
	for _, v := range bad {
		if v == 0 {
			nvalid++
		}
	}
	b.valid = make([]int32, 0, nvalid)
	b.hash = make([]uint64, 0, nvalid)
	b.day = make([]int32, 0, nvalid)
	b.typ = make([]uint8, 0, nvalid)
	times := cols[colEventTime].(*array.Timestamp).Values()
	for i, v := range bad {
		if v != 0 {
			b.quarantined = append(b.quarantined, c.quarantineRow(sc, i, first+int64(i)))
			continue
		}
		us := int64(times[i])
		b.valid = append(b.valid, int32(i))
		b.hash = append(b.hash, maphash.String(c.seed, ids.Value(i)))
		b.day = append(b.day, int32(floorDiv(us, microsPerDay)))
		b.typ = append(b.typ, typ[i])
	}
	b.rec = array.NewRecordBatch(canonSchema, cols, int64(n))
	return b
}

// nonBlank is strings.TrimSpace(s) != "" without scanning the usual id.
func nonBlank(s string) bool {
	if len(s) > 0 && s[0] > ' ' && s[0] < 0x80 {
		return true
	}
	return strings.TrimSpace(s) != ""
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// strings returns a as a canonical string column: absent and null are "".
func (c *converter) strings(a arrow.Array, n int) arrow.Array {
	if s, ok := a.(*array.String); ok && s.NullN() == 0 {
		s.Retain()
		return s
	}
	b := array.NewStringBuilder(c.mem)
	defer b.Release()
	b.Reserve(n)
	for i := range n {
		var v string
		if a != nil {
			v, _ = stringAt(a, i)
		}
		b.Append(v)
	}
	return b.NewArray()
}

// times returns a as canonical timestamps (UTC microseconds), marking rows
// that are null, unparseable or outside [MinTime, MaxTime) in bad.
func (c *converter) times(a arrow.Array, n int, bad []uint8) arrow.Array {
	if ts, ok := a.(*array.Timestamp); ok && ts.NullN() == 0 && arrow.TypeEqual(ts.DataType(), canonTimeType) {
		for i, v := range ts.Values() {
			c.checkMicros(int64(v), true, bad, i)
		}
		ts.Retain()
		return ts
	}
	us := make([]int64, n)
	switch a := a.(type) {
	case *array.Timestamp:
		var mul, div int64 = 1, 1
		switch a.DataType().(*arrow.TimestampType).Unit {
		case arrow.Second:
			mul = 1_000_000
		case arrow.Millisecond:
			mul = 1000
		case arrow.Nanosecond:
			div = 1000
		}
		for i, v := range a.Values() {
			var ok bool
			us[i], ok = scaleMicros(int64(v), mul, div)
			c.checkMicros(us[i], ok && a.IsValid(i), bad, i)
		}
	case *array.Int64:
		for i, v := range a.Values() {
			var ok bool
			us[i], ok = epochMicros(v)
			c.checkMicros(us[i], ok && a.IsValid(i), bad, i)
		}
	default:
		for i := range n {
			t, err := timeAt(a, i)
			us[i] = t.UnixMicro()
			c.checkMicros(us[i], err == nil, bad, i)
		}
	}
	data := array.NewData(canonTimeType, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(us))}, nil, 0, 0)
	defer data.Release()
	return array.NewTimestampData(data)
}

func (c *converter) checkMicros(us int64, ok bool, bad []uint8, i int) {
	if !ok || us == zeroTimeMicros || us < c.minMicros || us >= c.maxMicros {
		bad[i] |= badTime
	}
}

// scaleMicros is v*mul/div floored; ok is false on overflow.
func scaleMicros(v, mul, div int64) (int64, bool) {
	if div != 1 {
		return floorDiv(v, div), true
	}
	if mul != 1 && (v > math.MaxInt64/mul || v < math.MinInt64/mul) {
		return 0, false
	}
	return v * mul, true
}

// epochMicros is epoch(v) in microseconds, with epoch's rule for the unit.
func epochMicros(v int64) (int64, bool) {
	abs := v
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs >= 1e17:
		return floorDiv(v, 1000), true
	case abs >= 1e14:
		return v, true
	case abs >= 1e11:
		return scaleMicros(v, 1000, 1)
	case abs >= 0:
		return v * 1_000_000, true // |v| < 1e11: no overflow
	}
	return 0, false // math.MinInt64
}

// floats returns a as a canonical float64 column, marking null, non-numeric,
// non-finite and negative values with bit in bad.
func (c *converter) floats(a arrow.Array, n int, bad []uint8, bit uint8) arrow.Array {
	if f, ok := a.(*array.Float64); ok && f.NullN() == 0 {
		for i, v := range f.Values() {
			if !(v >= 0 && v <= math.MaxFloat64) {
				bad[i] |= bit
			}
		}
		f.Retain()
		return f
	}
	vs := make([]float64, n)
	for i := range n {
		v, err := floatAt(a, i)
		vs[i] = v
		if err != nil || !(v >= 0 && v <= math.MaxFloat64) {
			bad[i] |= bit
		}
	}
	data := array.NewData(arrow.PrimitiveTypes.Float64, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(vs))}, nil, 0, 0)
	defer data.Release()
	return array.NewFloat64Data(data)
}

// extras returns the canonical extras column: the source's extras map plus
// every unknown column, keyed by its name, that the map does not already
// have. A map<string, string> extras column and no unknown columns, the
// usual case, is shared; anything else is rebuilt row by row.
func (c *converter) extras(sc sourceColumns, n int) arrow.Array {
	src := sc.col["extras"]
	if m, ok := src.(*array.Map); ok && len(sc.unknown) == 0 && plainStringMap(m) {
		d := m.Data()
		kv := d.Children()[0]
		entries := array.NewData(canonExtraType.Elem(), kv.Len(), kv.Buffers(), kv.Children(), kv.NullN(), kv.Offset())
		defer entries.Release()
		data := array.NewData(canonExtraType, d.Len(), d.Buffers(), []arrow.ArrayData{entries}, d.NullN(), d.Offset())
		defer data.Release()
		return array.MakeFromData(data)
	}
	b := array.NewMapBuilderWithType(c.mem, canonExtraType)
	defer b.Release()
	if src == nil && len(sc.unknown) == 0 {
		b.AppendNulls(n)
		return b.NewArray()
	}
	keys := b.KeyBuilder().(*array.StringBuilder)
	items := b.ItemBuilder().(*array.StringBuilder)
	row := map[string]string{}
	for i := range n {
		clear(row)
		extrasAt(sc, i, row)
		if len(row) == 0 {
			b.AppendNull()
			continue
		}
		b.Append(true)
		for _, k := range slices.Sorted(mapKeys(row)) {
			keys.Append(k)
			items.Append(row[k])
		}
	}
	return b.NewArray()
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// plainStringMap reports whether m is a map of non-null strings to non-null strings.
func plainStringMap(m *array.Map) bool {
	k, ok1 := m.Keys().(*array.String)
	v, ok2 := m.Items().(*array.String)
	return ok1 && ok2 && k.NullN() == 0 && v.NullN() == 0
}

// extrasAt puts row i's extras into into, as ingest defines them.
func extrasAt(sc sourceColumns, i int, into map[string]string) {
	if m, ok := sc.col["extras"].(*array.Map); ok {
		mapAt(m, i, into)
	} else if a := sc.col["extras"]; a != nil {
		if s, ok := stringAt(a, i); ok {
			into["extras"] = s
		}
	}
	sch := sc.rec.Schema()
	for _, j := range sc.unknown {
		name := sch.Field(j).Name
		if _, taken := into[name]; taken {
			continue
		}
		if s, ok := stringAt(sc.rec.Column(j), i); ok {
			into[name] = s
		}
	}
}

// quarantineRow applies ingest's rules to row i one field at a time and
// returns it as a quarantine row with every problem in its reason. It is
// the reference for the column-wise checks in convert, and runs only for
// the rows they reject.
func (c *converter) quarantineRow(sc sourceColumns, i int, row int64) QuarantinedRow {
	text := func(name string) string {
		if a := sc.col[name]; a != nil {
			s, _ := stringAt(a, i)
			return s
		}
		return ""
	}
	e := Event{
		EventID:   text("event_id"),
		EventType: text("event_type"),
		OrderID:   text("order_id"),
		SKU:       text("sku"),
		Location:  text("location"),
		Carrier:   text("carrier"),
		Extras:    map[string]string{},
	}
	var errs []error
	bad := map[string]bool{}
	var perr error
	if e.EventTime, perr = timeAt(sc.col["event_time"], i); perr != nil {
		errs = append(errs, &FieldError{"event_time", perr.Error()})
		bad["event_time"] = true
	}
	if e.Quantity, perr = floatAt(sc.col["quantity"], i); perr != nil {
		errs = append(errs, &FieldError{"quantity", perr.Error()})
		bad["quantity"] = true
	}
	if e.Price, perr = floatAt(sc.col["price"], i); perr != nil {
		errs = append(errs, &FieldError{"price", perr.Error()})
		bad["price"] = true
	}
	extrasAt(sc, i, e.Extras)
	if len(e.Extras) == 0 {
		e.Extras = nil
	}
	for _, err := range fieldErrors(e, c.minTime, c.maxTime) {
		var fe *FieldError
		if errors.As(err, &fe) && bad[fe.Field] {
			continue
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		// Only a time the column-wise check could not represent in
		// microseconds (beyond about ±292,000 years) gets here.
		errs = append(errs, &FieldError{"event_time", e.EventTime.Format(time.RFC3339Nano) + " is out of range"})
	}
	return QuarantinedRow{
		Reason:     reason(c.name, row, errs),
		SourceFile: c.name,
		SourceRow:  row,
		EventID:    e.EventID,
		EventTime:  text("event_time"),
		EventType:  e.EventType,
		OrderID:    e.OrderID,
		SKU:        e.SKU,
		Location:   e.Location,
		Carrier:    e.Carrier,
		Quantity:   text("quantity"),
		Price:      text("price"),
		Extras:     e.Extras,
	}
}
