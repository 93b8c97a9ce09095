package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Olist tables ImportOlist reads, by their names in the public Olist
// e-commerce dataset. Only the orders file is required.
const (
	OlistOrdersFile    = "olist_orders_dataset.csv"
	OlistItemsFile     = "olist_order_items_dataset.csv"
	OlistPaymentsFile  = "olist_order_payments_dataset.csv"
	OlistCustomersFile = "olist_customers_dataset.csv"
)

// OlistCarrier is the carrier of every Olist shipped, delivered and
// delivery_failed event. Olist does not name carriers: the seller hands the
// parcel to Olist's logistics partner (order_delivered_carrier_date), so
// there is one carrier, and the sellers are in the events' extras.
const OlistCarrier = "olist-carrier"

// olistTimeLayout is how Olist writes timestamps: wall-clock, no zone.
const olistTimeLayout = "2006-01-02 15:04:05"

// OlistConfig configures ImportOlist.
type OlistConfig struct {
	// Dir holds the Olist CSV files (OlistOrdersFile and, optionally,
	// OlistItemsFile, OlistPaymentsFile, OlistCustomersFile). Required.
	Dir string `json:"dir"`
	// OutDir is the local output directory, laid out as Ingest's. Required.
	OutDir string `json:"out_dir"`
	// MinTime and MaxTime bound valid event times, [MinTime, MaxTime), as
	// in IngestConfig: zero means 2000-01-01 UTC and one year from now.
	MinTime time.Time `json:"min_time"`
	MaxTime time.Time `json:"max_time"`
}

// Validate reports a config ImportOlist cannot run; errors wrap ErrInvalidConfig.
func (c OlistConfig) Validate() error {
	if strings.TrimSpace(c.Dir) == "" {
		return fmt.Errorf("%w: olist: empty input directory", ErrInvalidConfig)
	}
	if _, err := checkImportOut(c.OutDir); err != nil {
		return err
	}
	d := IngestConfig{MinTime: c.MinTime, MaxTime: c.MaxTime}.withDefaults()
	if !d.MinTime.Before(d.MaxTime) {
		return fmt.Errorf("%w: min time %v is not before max time %v", ErrInvalidConfig, d.MinTime, d.MaxTime)
	}
	return nil
}

// olistOrder is one accepted row of the orders file and what joins to it.
type olistOrder struct {
	id, customerID, status                         string
	srcRow                                         int64
	placed, approved, shipped, delivered, estimate time.Time

	items                            int
	priceSum, freightSum             float64
	products, sellers                []string
	payments                         int
	paymentTypes                     []string
	paymentValue                     float64
	installments                     int
	customerOK                       bool
	city, state, zip, customerUnique string
}

// ImportOlist converts the Olist e-commerce CSV tables in cfg.Dir into
// canonical events, one journey per order, and writes them to cfg.OutDir
// (see ImportResult for the layout).
//
// Mapping, per order (event_id "olist-ORDER_ID-N-STEP" with N the step's
// place in the journey, order_id the Olist
// order id; timestamps are taken as UTC, since the files carry no zone):
//
//	order_placed     order_purchase_timestamp; location customer_state
//	order_approved   order_approved_at, when set
//	shipped          order_delivered_carrier_date, when set; carrier OlistCarrier
//	delivered        order_delivered_customer_date, when set; carrier OlistCarrier
//	delivery_failed  status canceled or unavailable, shipped but never
//	                 delivered: at the estimated delivery date (or the
//	                 shipping time if later), extras time_source says so
//
// A canceled or unavailable order that never shipped is its placed (and
// approved) events only, with order_status in the extras. Every other status
// (shipped, invoiced, processing, ...) is the steps its timestamps show.
//
// Events are per order, not per item: quantity is the order's number of item
// rows on every step, price on order_placed is the mean item price (so
// quantity × price is the order value) and 0 on the other steps; sku is the
// product when the order has one distinct product, else empty. order_placed
// carries the extras: promised_date (estimated delivery, YYYY-MM-DD),
// promised_days (calendar days from purchase to it, what the tokenizer's
// renderer reads), order_status, customer_id, customer_unique_id,
// customer_city, customer_state, customer_zip_code_prefix, items,
// order_value, freight_value, products and sellers (sorted, comma-joined),
// payments, payment_type (sorted distinct, "+"-joined), payment_value,
// payment_installments (the largest).
//
// The sample's tables are truncated independently, so joins are often
// missing. Such orders are kept, and their order_placed has extras
// missing_joins, e.g. "items,payments,customer" (quantity and price are 0
// without items). An order whose steps are out of order in the source (for
// example approved after shipped) is imported as the source has it, with
// extras time_order_violation on order_placed, and listed in
// TimeOrderViolations.
//
// Every row of any table that cannot be converted (no order_id, a
// duplicated order_id, a timestamp that does not parse or is outside
// [MinTime, MaxTime), a price that is not a finite non-negative number, a
// row with the wrong number of fields) is rejected with its file, row and
// reason into the quarantine and ImportResult.Rejects. A table without a
// column the import needs is an error (*MissingColumnError) and nothing is
// written. A rejected order row
// is not imported, and rows of other tables that refer to it count as
// orphans. RowsIn == Imported + Rejected for the orders file.
func ImportOlist(ctx context.Context, cfg OlistConfig) (ImportResult, error) {
	if err := cfg.Validate(); err != nil {
		return ImportResult{}, err
	}
	outDir, _ := checkImportOut(cfg.OutDir)
	bounds := IngestConfig{MinTime: cfg.MinTime, MaxTime: cfg.MaxTime}.withDefaults()
	imp := &olistImport{ctx: ctx, minTime: bounds.MinTime, maxTime: bounds.MaxTime, index: map[string]int{},
		res: ImportResult{Source: "olist", MissingJoinsBy: map[string]int64{}}}

	tables := []struct {
		file    string
		columns []string // required in the header
		row     func(*csvTable, csvRow, *TableCounts) error
	}{
		{OlistOrdersFile, []string{"order_id", "customer_id", "order_status", "order_purchase_timestamp"}, imp.order},
		{OlistItemsFile, []string{"order_id", "price"}, imp.item},
		{OlistPaymentsFile, []string{"order_id", "payment_value"}, imp.payment},
		{OlistCustomersFile, []string{"customer_id"}, imp.customer},
	}
	for i, tb := range tables {
		if err := imp.readTable(filepath.Join(cfg.Dir, tb.file), i == 0, tb.columns, tb.row); err != nil {
			return ImportResult{}, err
		}
	}

	res := &imp.res
	res.RowsIn = res.Tables[0].Rows
	res.Imported = res.Tables[0].Used
	events := make([]Event, 0, 4*len(imp.orders))
	for i := range imp.orders {
		o := &imp.orders[i]
		evs, missing, violation := o.events()
		for _, e := range evs {
			if err := ValidateEvent(e, imp.minTime, imp.maxTime); err != nil {
				return ImportResult{}, fmt.Errorf("dataset: olist: order %s makes an invalid event (a bug): %w", o.id, err)
			}
		}
		events = append(events, evs...)
		if len(missing) > 0 {
			res.MissingJoins++
			for _, m := range missing {
				res.MissingJoinsBy[m]++
			}
		}
		if violation != "" {
			res.TimeOrderViolations = append(res.TimeOrderViolations, TimeOrderViolation{OrderID: o.id, Detail: violation})
		}
	}
	if err := writeImport(ctx, outDir, events, imp.inputs, res); err != nil {
		return ImportResult{}, err
	}
	return *res, nil
}

// olistImport is one ImportOlist run.
type olistImport struct {
	ctx              context.Context
	minTime, maxTime time.Time
	orders           []olistOrder
	index            map[string]int // order id -> orders index
	customers        map[string][]int
	inputs           []InputFile
	res              ImportResult
}

// readTable reads one table, handing each well-formed row to row and
// rejecting the rest. An absent optional table is skipped (every order then
// marks that join missing); an absent orders file is an error.
func (imp *olistImport) readTable(path string, required bool, columns []string, row func(*csvTable, csvRow, *TableCounts) error) error {
	t, err := openCSV(path)
	if err != nil {
		if !required && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("dataset: olist: %w", err)
	}
	defer t.Close()
	for _, c := range columns {
		if _, ok := t.index[c]; !ok {
			return fmt.Errorf("dataset: olist: %w", &MissingColumnError{File: t.name, Column: c})
		}
	}
	counts := TableCounts{Table: t.name}
	for {
		if counts.Rows%4096 == 0 {
			if err := imp.ctx.Err(); err != nil {
				return err
			}
		}
		r, err := t.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("dataset: olist: %w", err)
		}
		counts.Rows++
		if r.Err != nil {
			imp.reject(t, r, &counts, r.Err.Error(), QuarantinedRow{})
			continue
		}
		if err := row(t, r, &counts); err != nil {
			return err
		}
	}
	imp.res.Tables = append(imp.res.Tables, counts)
	imp.inputs = append(imp.inputs, InputFile{File: t.name, Rows: counts.Rows, Bytes: t.size})
	return nil
}

func (imp *olistImport) reject(t *csvTable, r csvRow, counts *TableCounts, why string, q QuarantinedRow) {
	counts.Rejected++
	q.Extras = rawRow(t.header, r)
	imp.res.Rejected++
	imp.res.Rejects = append(imp.res.Rejects, rejectRow(t.name, r.Row, why, q))
}

// parseTime reads an Olist timestamp; empty is the zero time. A time outside
// the valid range is an error too: it would make an invalid event.
func (imp *olistImport) parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(olistTimeLayout, s)
	if err != nil {
		if t, err = parseAnyTime(s); err != nil {
			return time.Time{}, &FieldError{field, fmt.Sprintf("%q is not a %q timestamp", s, olistTimeLayout)}
		}
	}
	t = t.UTC()
	if t.Before(imp.minTime) || !t.Before(imp.maxTime) {
		return time.Time{}, &FieldError{field, fmt.Sprintf("%s is outside [%s, %s)", s, imp.minTime.Format(time.RFC3339), imp.maxTime.Format(time.RFC3339))}
	}
	return t, nil
}

// parseAnyTime tries the layouts ingest coerces strings with.
func parseAnyTime(s string) (time.Time, error) {
	var err error
	for _, layout := range timeLayouts {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

// parseAmount reads a finite, non-negative number.
func parseAmount(field, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return 0, &FieldError{field, strconv.Quote(s) + " is not a number"}
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, &FieldError{field, s + " is not finite"}
	case v < 0:
		return 0, &FieldError{field, s + " is negative"}
	}
	return v, nil
}

func joinErrs(errs []error) string {
	s := make([]string, len(errs))
	for i, e := range errs {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (imp *olistImport) order(t *csvTable, r csvRow, counts *TableCounts) error {
	o := olistOrder{
		id:         t.get(r, "order_id"),
		customerID: t.get(r, "customer_id"),
		status:     t.get(r, "order_status"),
	}
	q := QuarantinedRow{OrderID: o.id, EventType: string(OrderPlaced), EventTime: t.get(r, "order_purchase_timestamp")}
	var errs []error
	if o.id == "" {
		errs = append(errs, &FieldError{"order_id", "empty"})
	} else if first, dup := imp.index[o.id]; dup {
		errs = append(errs, &FieldError{"order_id", fmt.Sprintf("%s is a duplicate of the order at row %d", o.id, imp.orders[first].srcRow)})
	}
	for _, f := range []struct {
		col string
		dst *time.Time
	}{
		{"order_purchase_timestamp", &o.placed},
		{"order_approved_at", &o.approved},
		{"order_delivered_carrier_date", &o.shipped},
		{"order_delivered_customer_date", &o.delivered},
		{"order_estimated_delivery_date", &o.estimate},
	} {
		v, err := imp.parseTime(f.col, t.get(r, f.col))
		if err != nil {
			errs = append(errs, err)
		}
		*f.dst = v
	}
	if o.placed.IsZero() && t.get(r, "order_purchase_timestamp") == "" {
		errs = append(errs, &FieldError{"order_purchase_timestamp", "empty"})
	}
	if len(errs) > 0 {
		imp.reject(t, r, counts, joinErrs(errs), q)
		return nil
	}
	counts.Used++
	imp.index[o.id] = len(imp.orders)
	o.srcRow = r.Row
	imp.orders = append(imp.orders, o)
	return nil
}

func (imp *olistImport) item(t *csvTable, r csvRow, counts *TableCounts) error {
	id := t.get(r, "order_id")
	q := QuarantinedRow{OrderID: id, SKU: t.get(r, "product_id"), Price: t.get(r, "price")}
	var errs []error
	if id == "" {
		errs = append(errs, &FieldError{"order_id", "empty"})
	}
	price, err := parseAmount("price", t.get(r, "price"))
	if err != nil {
		errs = append(errs, err)
	}
	freight := 0.0
	if s := t.get(r, "freight_value"); s != "" {
		if freight, err = parseAmount("freight_value", s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		imp.reject(t, r, counts, joinErrs(errs), q)
		return nil
	}
	i, ok := imp.index[id]
	if !ok {
		counts.Orphans++
		return nil
	}
	counts.Used++
	o := &imp.orders[i]
	o.items++
	o.priceSum += price
	o.freightSum += freight
	if p := t.get(r, "product_id"); p != "" && !slices.Contains(o.products, p) {
		o.products = append(o.products, p)
	}
	if s := t.get(r, "seller_id"); s != "" && !slices.Contains(o.sellers, s) {
		o.sellers = append(o.sellers, s)
	}
	return nil
}

func (imp *olistImport) payment(t *csvTable, r csvRow, counts *TableCounts) error {
	id := t.get(r, "order_id")
	q := QuarantinedRow{OrderID: id, Price: t.get(r, "payment_value")}
	var errs []error
	if id == "" {
		errs = append(errs, &FieldError{"order_id", "empty"})
	}
	value, err := parseAmount("payment_value", t.get(r, "payment_value"))
	if err != nil {
		errs = append(errs, err)
	}
	inst := 0
	if s := t.get(r, "payment_installments"); s != "" {
		if inst, err = strconv.Atoi(s); err != nil || inst < 0 {
			errs = append(errs, &FieldError{"payment_installments", strconv.Quote(s) + " is not a non-negative whole number"})
		}
	}
	if len(errs) > 0 {
		imp.reject(t, r, counts, joinErrs(errs), q)
		return nil
	}
	i, ok := imp.index[id]
	if !ok {
		counts.Orphans++
		return nil
	}
	counts.Used++
	o := &imp.orders[i]
	o.payments++
	o.paymentValue += value
	o.installments = max(o.installments, inst)
	if p := t.get(r, "payment_type"); p != "" && !slices.Contains(o.paymentTypes, p) {
		o.paymentTypes = append(o.paymentTypes, p)
	}
	return nil
}

func (imp *olistImport) customer(t *csvTable, r csvRow, counts *TableCounts) error {
	if imp.customers == nil {
		imp.customers = map[string][]int{}
		for i, o := range imp.orders {
			imp.customers[o.customerID] = append(imp.customers[o.customerID], i)
		}
	}
	id := t.get(r, "customer_id")
	if id == "" {
		imp.reject(t, r, counts, (&FieldError{"customer_id", "empty"}).Error(), QuarantinedRow{})
		return nil
	}
	orders := imp.customers[id]
	if len(orders) == 0 {
		counts.Orphans++
		return nil
	}
	if imp.orders[orders[0]].customerOK {
		imp.reject(t, r, counts, (&FieldError{"customer_id", id + " is a duplicate"}).Error(), QuarantinedRow{})
		return nil
	}
	counts.Used++
	for _, i := range orders {
		o := &imp.orders[i]
		o.customerOK = true
		o.city, o.state = t.get(r, "customer_city"), t.get(r, "customer_state")
		o.zip, o.customerUnique = t.get(r, "customer_zip_code_prefix"), t.get(r, "customer_unique_id")
	}
	return nil
}

// money formats an amount in the dataset's currency, rounded to cents.
func money(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', 2, 64) }

// calendarDays counts UTC calendar days from a to b, as the tokenizer's
// journey renderer counts step days.
func calendarDays(a, b time.Time) int {
	day := func(t time.Time) int64 { return int64(math.Floor(float64(t.Unix()) / 86400)) }
	return int(day(b) - day(a))
}

// events renders one order's journey. It returns the joins that are missing
// and a description of steps out of order ("" when in order).
func (o *olistOrder) events() (evs []Event, missing []string, violation string) {
	if o.items == 0 {
		missing = append(missing, "items")
	}
	if o.payments == 0 {
		missing = append(missing, "payments")
	}
	if !o.customerOK {
		missing = append(missing, "customer")
	}

	steps := []struct {
		name string
		t    time.Time
	}{{"placed", o.placed}, {"approved", o.approved}, {"shipped", o.shipped}, {"delivered", o.delivered}}
	var bad, short []string
	prev := -1
	for i, s := range steps {
		if s.t.IsZero() {
			continue
		}
		if prev >= 0 && s.t.Before(steps[prev].t) {
			p := steps[prev]
			bad = append(bad, fmt.Sprintf("%s %s > %s %s", p.name, p.t.Format(time.RFC3339), s.name, s.t.Format(time.RFC3339)))
			short = append(short, p.name+">"+s.name)
		}
		prev = i
	}
	violation = strings.Join(bad, "; ")

	qty := float64(o.items)
	base := Event{OrderID: o.id, Quantity: qty}
	if len(o.products) == 1 {
		base.SKU = o.products[0]
	}
	// The step number in the id makes steps at the same second (Olist has
	// approvals in the purchase second) sort in journey order, since the
	// canonical order is (event_time, event_id).
	n := 0
	add := func(step string, typ EventType, t time.Time, loc, carrier string, price float64, extras map[string]string) {
		n++
		e := base
		e.EventID = "olist-" + o.id + "-" + strconv.Itoa(n) + "-" + step
		e.EventType, e.EventTime, e.Location, e.Carrier, e.Price, e.Extras = string(typ), t, loc, carrier, price, extras
		evs = append(evs, e)
	}

	x := map[string]string{"source": "olist", "order_status": o.status, "customer_id": o.customerID}
	if !o.estimate.IsZero() {
		x["promised_date"] = o.estimate.Format(time.DateOnly)
		x["promised_days"] = strconv.Itoa(calendarDays(o.placed, o.estimate))
	}
	if o.customerOK {
		x["customer_unique_id"], x["customer_city"], x["customer_state"], x["customer_zip_code_prefix"] = o.customerUnique, o.city, o.state, o.zip
	}
	price := 0.0
	if o.items > 0 {
		price = o.priceSum / float64(o.items)
		x["items"] = strconv.Itoa(o.items)
		x["order_value"] = money(o.priceSum)
		x["freight_value"] = money(o.freightSum)
		x["products"] = strings.Join(slices.Sorted(slices.Values(o.products)), ",")
		x["sellers"] = strings.Join(slices.Sorted(slices.Values(o.sellers)), ",")
	}
	if o.payments > 0 {
		x["payments"] = strconv.Itoa(o.payments)
		x["payment_type"] = strings.Join(slices.Sorted(slices.Values(o.paymentTypes)), "+")
		x["payment_value"] = money(o.paymentValue)
		x["payment_installments"] = strconv.Itoa(o.installments)
	}
	if len(missing) > 0 {
		x["missing_joins"] = strings.Join(missing, ",")
	}
	if len(short) > 0 {
		x["time_order_violation"] = strings.Join(short, ",")
	}

	loc := o.state
	add("placed", OrderPlaced, o.placed, loc, "", price, x)
	if !o.approved.IsZero() {
		add("approved", OrderApproved, o.approved, loc, "", 0, nil)
	}
	if !o.shipped.IsZero() {
		var sx map[string]string
		if len(o.sellers) > 0 {
			sx = map[string]string{"sellers": x["sellers"]}
		}
		add("shipped", Shipped, o.shipped, "", OlistCarrier, 0, sx)
	}
	switch {
	case !o.delivered.IsZero():
		add("delivered", Delivered, o.delivered, loc, OlistCarrier, 0, nil)
	case (o.status == "canceled" || o.status == "unavailable") && !o.shipped.IsZero():
		at, src := o.estimate, "order_estimated_delivery_date"
		if at.IsZero() || at.Before(o.shipped) {
			at, src = o.shipped, "order_delivered_carrier_date"
		}
		add("delivery_failed", DeliveryFailed, at, loc, OlistCarrier, 0,
			map[string]string{"reason": o.status, "time_source": src})
	}
	return evs, missing, violation
}
