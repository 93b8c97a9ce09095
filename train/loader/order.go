package loader

// The sample order is meant to be reimplemented outside Go (a Python check,
// another loader body), so it uses only 64-bit wrapping arithmetic.

const golden = 0x9E3779B97F4A7C15

// splitmix64 is Steele, Lea and Flood's SplitMix64: the state advances by
// the golden-ratio constant and each output is a finalised copy of it.
type splitmix64 struct{ s uint64 }

func (r *splitmix64) next() uint64 {
	r.s += golden
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Permutation returns epoch's order of the windows 0..n-1 for seed. Recipe,
// with all arithmetic on uint64 modulo 2^64:
//
//	r := splitmix64{s: uint64(seed)}
//	r = splitmix64{s: r.next() ^ uint64(epoch)}
//	perm := [0, 1, ..., n-1]
//	for i := n-1; i >= 1; i-- {
//	    j := r.next() % uint64(i+1)
//	    perm[i], perm[j] = perm[j], perm[i]
//	}
//
// The modulo has a bias of at most n/2^64, which is irrelevant here and
// keeps the recipe trivial to port.
func Permutation(seed, epoch int64, n int) []int64 {
	perm := make([]int64, n)
	permuteInto(perm, seed, epoch)
	return perm
}

// permuteInto writes Permutation(seed, epoch, len(perm)) into perm, so that
// the loader reuses one buffer across epochs.
func permuteInto(perm []int64, seed, epoch int64) {
	for i := range perm {
		perm[i] = int64(i)
	}
	r := splitmix64{s: uint64(seed)}
	r = splitmix64{s: r.next() ^ uint64(epoch)}
	for i := len(perm) - 1; i >= 1; i-- {
		j := r.next() % uint64(i+1)
		perm[i], perm[j] = perm[j], perm[i]
	}
}
