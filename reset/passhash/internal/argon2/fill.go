package argon2

// filler computes the blocks of one hash, segment by segment.
type filler struct {
	blocks  []block
	laneLen uint32 // q, blocks per lane
	segLen  uint32 // q/4, blocks per segment
	lanes   uint32
	total   uint32 // m'
	passes  uint32
	variant Variant
}

// segment fills the blocks of lane in slice of pass (RFC 9106, section 3.2, steps 5 and 6).
// Argon2i picks every reference block from a pseudo-random stream that does not depend on the
// password; Argon2id does so only in the first half of the first pass, then, like Argon2d,
// from the previous block's first word.
func (f *filler) segment(pass, slice, lane uint32) {
	independent := f.variant == Argon2i || (pass == 0 && slice < syncPoints/2)
	var addresses, input, zero block
	if independent {
		input[0] = uint64(pass)
		input[1] = uint64(lane)
		input[2] = uint64(slice)
		input[3] = uint64(f.total)
		input[4] = uint64(f.passes)
		input[5] = uint64(f.variant)
	}
	next := func() {
		input[6]++
		compress(&addresses, &zero, &input, false)
		compress(&addresses, &zero, &addresses, false)
	}

	start := uint32(0)
	if pass == 0 && slice == 0 {
		start = 2 // the first two blocks of each lane come from H0
		if independent {
			next()
		}
	}
	offset := lane*f.laneLen + slice*f.segLen + start
	for i := start; i < f.segLen; i, offset = i+1, offset+1 {
		prev := offset - 1
		if offset%f.laneLen == 0 {
			prev = offset + f.laneLen - 1
		}
		var pseudo uint64
		if independent {
			if i%addressesEach == 0 {
				next()
			}
			pseudo = addresses[i%addressesEach]
		} else {
			pseudo = f.blocks[prev][0]
		}
		refLane := uint32(pseudo>>32) % f.lanes
		if pass == 0 && slice == 0 {
			refLane = lane
		}
		ref := refLane*f.laneLen + f.refIndex(pass, slice, i, uint32(pseudo), refLane == lane)
		compress(&f.blocks[offset], &f.blocks[prev], &f.blocks[ref], pass > 0)
	}
}

// refIndex maps the pseudo-random J1 of the i-th block of a segment to a block of the
// reference lane (RFC 9106, section 3.4.1.2): among the blocks already computed that the
// segment may read, skewed towards the most recent ones.
func (f *filler) refIndex(pass, slice, i, j1 uint32, sameLane bool) uint32 {
	// area is |W|: in the same lane every block before the previous one; in another lane the
	// finished segments, less their last block when this is a segment's first block (it may
	// still be written by that lane in this slice's turn elsewhere).
	var area uint32
	switch {
	case pass == 0 && slice == 0:
		area = i - 1
	case pass == 0 && sameLane:
		area = slice*f.segLen + i - 1
	case pass == 0:
		area = slice * f.segLen
	case sameLane:
		area = f.laneLen - f.segLen + i - 1
	default:
		area = f.laneLen - f.segLen
	}
	if !sameLane && i == 0 {
		area--
	}
	x := uint64(j1) * uint64(j1) >> 32
	rel := uint64(area) - 1 - (uint64(area) * x >> 32)
	var startPos uint64
	if pass != 0 && slice != syncPoints-1 {
		startPos = uint64((slice + 1) * f.segLen)
	}
	return uint32((startPos + rel) % uint64(f.laneLen))
}
