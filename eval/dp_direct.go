package eval

// A chain the power method cannot settle in lazyAfter steps mixes slowly:
// a base-stock level far below the demand keeps a handful of states that
// the chain leaves only rarely (L = 2, mean 11.5, S = 2..5: after 20,000
// damped steps the distribution still moved by 1e-5 to 5e-12 a step). Such
// chains are small, so their stationary distribution is solved directly.

// maxDirectStates bounds the closed class that stationaryDirect solves
// densely (GTH is cubic in it).
const maxDirectStates = 600

// stationaryDirect returns the stationary distribution over all n states of
// the chain under the policy fixed, started from state start: zero off the
// closed class the start reaches, and on it the solution of pi = pi P by
// the Grassmann-Taksar-Heyman elimination, which subtracts nothing and so
// keeps full relative precision however slowly the chain mixes. It
// reports false when the start reaches more than one closed class (the
// limit would depend on the path) or that class exceeds maxDirectStates.
func (m dpModel) stationaryDirect(fixed []int32, start int) ([]float64, bool) {
	type edge struct {
		to int
		p  float64
	}
	succ := func(s int) []edge {
		y, rest := m.next(s, int(fixed[s]))
		yi := y + m.B
		out := []edge{{rest, m.tail[yi]}}
		for k := 0; k < yi; k++ {
			out = append(out, edge{(yi-k)*m.P + rest, m.pmf[k]})
		}
		return out
	}
	// The states the start reaches, with their edges of positive probability.
	index := map[int]int{start: 0}
	states := []int{start}
	var edges [][]edge
	for i := 0; i < len(states); i++ {
		var out []edge
		for _, e := range succ(states[i]) {
			if e.p <= 0 {
				continue
			}
			j, ok := index[e.to]
			if !ok {
				j = len(states)
				index[e.to] = j
				states = append(states, e.to)
			}
			out = append(out, edge{j, e.p})
		}
		edges = append(edges, out)
		if len(states) > 64*maxDirectStates {
			return nil, false
		}
	}
	// Closed classes: strongly connected components with no edge out.
	succs := make([][]int, len(states))
	for i, out := range edges {
		for _, e := range out {
			succs[i] = append(succs[i], e.to)
		}
	}
	comp := sccs(succs)
	ncomp := 0
	for _, c := range comp {
		ncomp = max(ncomp, c+1)
	}
	open := make([]bool, ncomp)
	for i, out := range edges {
		for _, e := range out {
			if comp[e.to] != comp[i] {
				open[comp[i]] = true
			}
		}
	}
	closed := -1
	for c, o := range open {
		if !o {
			if closed >= 0 {
				return nil, false
			}
			closed = c
		}
	}
	var class []int // local indices of the closed class
	local := map[int]int{}
	for i, c := range comp {
		if c == closed {
			local[i] = len(class)
			class = append(class, i)
		}
	}
	k := len(class)
	if k == 0 || k > maxDirectStates {
		return nil, false
	}
	a := make([]float64, k*k)
	for r, i := range class {
		for _, e := range edges[i] {
			a[r*k+local[e.to]] += e.p
		}
	}
	// GTH: fold each state, last first, into those before it.
	for n := k - 1; n > 0; n-- {
		var s float64
		for j := 0; j < n; j++ {
			s += a[n*k+j]
		}
		if s <= 0 {
			return nil, false // not irreducible after all
		}
		for i := 0; i < n; i++ {
			a[i*k+n] /= s
		}
		for i := 0; i < n; i++ {
			f := a[i*k+n]
			if f == 0 {
				continue
			}
			for j := 0; j < n; j++ {
				a[i*k+j] += f * a[n*k+j]
			}
		}
	}
	x := make([]float64, k)
	x[0] = 1
	total := 1.0
	for n := 1; n < k; n++ {
		for i := 0; i < n; i++ {
			x[n] += x[i] * a[i*k+n]
		}
		total += x[n]
	}
	pi := make([]float64, m.nx()*m.P)
	for r, i := range class {
		pi[states[i]] = x[r] / total
	}
	return pi, true
}

// sccs labels the nodes of a graph, given as each node's successors, with
// their strongly connected components (Tarjan's algorithm, iterative).
func sccs(succ [][]int) []int {
	const unseen = -1
	n := len(succ)
	order, low, comp := make([]int, n), make([]int, n), make([]int, n)
	for i := range order {
		order[i], comp[i] = unseen, unseen
	}
	var stack []int
	onStack := make([]bool, n)
	next, ncomp := 0, 0
	type frame struct{ node, edge int }
	for root := 0; root < n; root++ {
		if order[root] != unseen {
			continue
		}
		calls := []frame{{root, 0}}
		order[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.node
			if f.edge < len(succ[v]) {
				w := succ[v][f.edge]
				f.edge++
				if order[w] == unseen {
					order[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{w, 0})
				} else if onStack[w] {
					low[v] = min(low[v], order[w])
				}
				continue
			}
			if low[v] == order[v] {
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp[w] = ncomp
					if w == v {
						break
					}
				}
				ncomp++
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				u := calls[len(calls)-1].node
				low[u] = min(low[u], low[v])
			}
		}
	}
	return comp
}
