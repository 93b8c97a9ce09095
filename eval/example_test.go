package eval_test

import (
	"context"
	"fmt"

	"github.com/supplyline/supplyline/dataset"
	"github.com/supplyline/supplyline/eval"
)

// Baselines alone, without a model: base-stock tuned on its own demand
// paths against the provable optimum of the dynamic program.
func ExampleRunReplenish() {
	task := eval.ReplenishTask{
		Demand:   dataset.DemandProcess{Base: 4}, // stationary Poisson, so the DP is exact
		LeadTime: 2,
		Seed:     1,
	}
	res, err := eval.RunReplenish(context.Background(), task, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("best baseline:", res.BestBaseline)
	fmt.Printf("optimum beats it: %v\n", *res.OptimumCost < res.BestBaselineCost)
	// Output:
	// best baseline: base-stock(S=11)
	// optimum beats it: true
}
