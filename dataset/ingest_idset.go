package dataset

import "encoding/binary"

// idSet is the set of event ids an ingest has accepted, for deduplication
// across every input file.
//
// It is exact: a 64-bit hash picks the slot, and a hash match is confirmed
// by comparing the id bytes, which the set keeps in an arena. Two distinct
// ids that share a hash are both kept, so a hash collision can cost a
// comparison but never drops a row. The price is memory: per distinct id
// 16 bytes of slot (at a load factor of at most 3/4, so 21-43 bytes) plus
// 8 bytes of header and the id itself in the arena; about 60 bytes for the
// 14-byte ids of generated data, or 64 MiB per million distinct ids.
//
// Ids remember the input file that added them, so that a file found bad
// part-way through (a corrupt row group after good ones) can be taken back
// with kill: its ids then count as absent, as if the file had never been
// read.
type idSet struct {
	slots  []idSlot // power-of-two length; linear probing
	n      int
	chunks [][]byte // the arena: records of [file uint32][len uint32][id bytes]
	dead   map[uint32]bool
}

type idSlot struct {
	hash uint64
	ref  uint64 // 0 for an empty slot, else 1<<63 | chunk<<32 | offset
}

// idChunkSize is the arena's allocation unit. Records never straddle
// chunks, so chunks never move and refs stay valid.
const idChunkSize = 1 << 22

func newIDSet() *idSet {
	return &idSet{slots: make([]idSlot, 1<<12), dead: map[uint32]bool{}}
}

// add adds id, whose hash is h, on behalf of input file. It reports false
// when the set already holds an equal id from a file that is not dead.
func (s *idSet) add(h uint64, id string, file uint32) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.ref == 0 {
			sl.hash, sl.ref = h, s.store(id, file)
			s.n++
			if s.n*4 > len(s.slots)*3 {
				s.grow()
			}
			return true
		}
		if sl.hash != h {
			continue
		}
		rec := s.record(sl.ref)
		if string(rec[8:]) != id {
			continue // a true 64-bit collision: a different id
		}
		if owner := binary.LittleEndian.Uint32(rec); s.dead[owner] {
			binary.LittleEndian.PutUint32(rec, file)
			return true
		}
		return false
	}
}

// touch loads the slots that adds of hashes will probe first, for the
// cache: slot loads are independent, so the CPU overlaps their misses,
// where add's own probes wait for each miss in turn. It returns a value
// only so that the loads are not optimised away.
func (s *idSet) touch(hashes []uint64) uint64 {
	mask := uint64(len(s.slots) - 1)
	var x uint64
	for _, h := range hashes {
		x += s.slots[h&mask].hash
	}
	return x
}

// kill takes back every id file added.
func (s *idSet) kill(file uint32) { s.dead[file] = true }

// len is the number of ids held, dead files' included.
func (s *idSet) len() int { return s.n }

func (s *idSet) store(id string, file uint32) uint64 {
	need := 8 + len(id)
	last := len(s.chunks) - 1
	if last < 0 || cap(s.chunks[last])-len(s.chunks[last]) < need {
		s.chunks = append(s.chunks, make([]byte, 0, max(idChunkSize, need)))
		last++
	}
	c := s.chunks[last]
	off := len(c)
	c = binary.LittleEndian.AppendUint32(c, file)
	c = binary.LittleEndian.AppendUint32(c, uint32(len(id)))
	s.chunks[last] = append(c, id...)
	return 1<<63 | uint64(last)<<32 | uint64(off)
}

// record returns the arena record of ref: the owner, the length and the id.
func (s *idSet) record(ref uint64) []byte {
	c := s.chunks[(ref>>32)&(1<<31-1)]
	off := uint32(ref)
	n := binary.LittleEndian.Uint32(c[off+4:])
	return c[off : off+8+n]
}

func (s *idSet) grow() {
	old := s.slots
	s.slots = make([]idSlot, 2*len(old))
	mask := uint64(len(s.slots) - 1)
	for _, sl := range old {
		if sl.ref == 0 {
			continue
		}
		i := sl.hash & mask
		for s.slots[i].ref != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = sl
	}
}
