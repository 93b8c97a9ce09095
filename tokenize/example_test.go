package tokenize_test

import (
	"fmt"
	"time"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/tokenize"
)

func ExampleRender() {
	day := time.Date(2024, 1, 1, 23, 0, 0, 0, time.UTC) // a Monday
	events := []dataset.Event{
		{EventID: "1", EventTime: day, EventType: string(dataset.InventorySnapshot), Location: "S01", SKU: "P003",
			Extras: map[string]string{"on_hand_start": "12", "pipeline_start": "6", "demand": "5", "lost": "0"}},
		{EventID: "2", EventTime: day, EventType: string(dataset.ReplenishmentOrdered), Location: "S01", SKU: "P003",
			Quantity: 8, Extras: map[string]string{"lead_time_days": "2"}},
		{EventID: "3", EventTime: day, EventType: string(dataset.TransportDeparted), Location: "DC1"},
	}
	train, val, stats, _ := tokenize.Render(events, day.Add(time.Hour))
	fmt.Print(train[0].Text)
	fmt.Println(len(val), stats.Unrendered)
	// Output:
	// inv loc=S01 sku=P003 lt=2
	// w=0 oh=12 pipe=6 dem=5 lost=0 pos=13 up=21 ord=8
	// 0 map[transport_departed:1]
}
