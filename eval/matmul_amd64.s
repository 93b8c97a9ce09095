//go:build amd64 && !purego

#include "textflag.h"

// AVX-512F kernels behind matmul_amd64.go. Every output lane of the GEMM
// kernels is one chain of fused multiply-adds in k order, started from zero,
// then (+ bias) then (+ the value already in c when add is set): the 12-row
// and the 1-row kernel give bit-identical results for the same inputs.

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv0() (a, d uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, a+0(FP)
	MOVL DX, d+4(FP)
	RET

// Two FMAs for one row of the 12x32 tile: the row's A value at addr
// broadcast against the panel's two halves in Z24 and Z25.
#define FMAROW(addr, acc0, acc1) \
	VFMADD231PS.BCST addr, Z24, acc0; \
	VFMADD231PS.BCST addr, Z25, acc1

// Stores one row: (acc + bias) to the valid lanes of (DI).
#define STOREROW(acc0, acc1) \
	VADDPS Z28, acc0, acc0; \
	VADDPS Z29, acc1, acc1; \
	VMOVUPS acc0, K1, (DI); \
	VMOVUPS acc1, K2, 64(DI)

// Stores one row: ((acc + bias) + c) to the valid lanes of (DI).
#define ADDROW(acc0, acc1) \
	VADDPS Z28, acc0, acc0; \
	VMOVUPS.Z (DI), K1, Z26; \
	VADDPS Z26, acc0, acc0; \
	VMOVUPS acc0, K1, (DI); \
	VADDPS Z29, acc1, acc1; \
	VMOVUPS.Z 64(DI), K2, Z27; \
	VADDPS Z27, acc1, acc1; \
	VMOVUPS acc1, K2, 64(DI)

// Ends the epilogue after the last valid row, else moves to the next row.
#define NEXTROW(done) \
	DECQ R9; \
	JZ   done; \
	ADDQ R8, DI

// func sgemm12x32(k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, add int, rows int, mask int)
//
// a holds 12 rows of k values, lda floats apart (all 12 are read; the caller
// pads), b one panel [k][32]; rows (1..12) rows of c, ldc floats apart, get
// the lanes set in mask (bit j for column j).
TEXT ·sgemm12x32(SB), NOSPLIT, $0-80
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R11
	SHLQ $2, R11              // lda in bytes: rows 1, 2, 4 by scale
	LEAQ (R11)(R11*2), R12    // 3 lda
	LEAQ (R11)(R11*4), R13    // 5 lda
	LEAQ (SI)(R12*2), BX      // row 6
	MOVQ b+24(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	TESTQ CX, CX
	JZ    epilogue

loop:
	VMOVUPS (DX), Z24
	VMOVUPS 64(DX), Z25
	FMAROW((SI), Z0, Z1)
	FMAROW((SI)(R11*1), Z2, Z3)
	FMAROW((SI)(R11*2), Z4, Z5)
	FMAROW((SI)(R12*1), Z6, Z7)
	FMAROW((SI)(R11*4), Z8, Z9)
	FMAROW((SI)(R13*1), Z10, Z11)
	FMAROW((BX), Z12, Z13)
	FMAROW((BX)(R11*1), Z14, Z15)
	FMAROW((BX)(R11*2), Z16, Z17)
	FMAROW((BX)(R12*1), Z18, Z19)
	FMAROW((BX)(R11*4), Z20, Z21)
	FMAROW((BX)(R13*1), Z22, Z23)
	ADDQ $4, SI
	ADDQ $4, BX
	ADDQ $128, DX
	DECQ CX
	JNZ  loop

epilogue:
	MOVQ    c+32(FP), DI
	MOVQ    ldc+40(FP), R8
	SHLQ    $2, R8
	MOVQ    bias+48(FP), BX
	VMOVUPS (BX), Z28
	VMOVUPS 64(BX), Z29
	MOVQ    mask+72(FP), AX
	KMOVW   AX, K1
	SHRQ    $16, AX
	KMOVW   AX, K2
	MOVQ    rows+64(FP), R9
	MOVQ    add+56(FP), R10
	TESTQ   R10, R10
	JNZ     addrows

	STOREROW(Z0, Z1)
	NEXTROW(done)
	STOREROW(Z2, Z3)
	NEXTROW(done)
	STOREROW(Z4, Z5)
	NEXTROW(done)
	STOREROW(Z6, Z7)
	NEXTROW(done)
	STOREROW(Z8, Z9)
	NEXTROW(done)
	STOREROW(Z10, Z11)
	NEXTROW(done)
	STOREROW(Z12, Z13)
	NEXTROW(done)
	STOREROW(Z14, Z15)
	NEXTROW(done)
	STOREROW(Z16, Z17)
	NEXTROW(done)
	STOREROW(Z18, Z19)
	NEXTROW(done)
	STOREROW(Z20, Z21)
	NEXTROW(done)
	STOREROW(Z22, Z23)
	JMP done

addrows:
	ADDROW(Z0, Z1)
	NEXTROW(done)
	ADDROW(Z2, Z3)
	NEXTROW(done)
	ADDROW(Z4, Z5)
	NEXTROW(done)
	ADDROW(Z6, Z7)
	NEXTROW(done)
	ADDROW(Z8, Z9)
	NEXTROW(done)
	ADDROW(Z10, Z11)
	NEXTROW(done)
	ADDROW(Z12, Z13)
	NEXTROW(done)
	ADDROW(Z14, Z15)
	NEXTROW(done)
	ADDROW(Z16, Z17)
	NEXTROW(done)
	ADDROW(Z18, Z19)
	NEXTROW(done)
	ADDROW(Z20, Z21)
	NEXTROW(done)
	ADDROW(Z22, Z23)

done:
	VZEROUPPER
	RET

// func sgemm1x32(k int, a, b, c *float32, bias *float32, add int, mask int)
//
// One row of sgemm12x32 with a contiguous: per lane the same chain of FMAs,
// so the same result as that row of the 12-row kernel.
TEXT ·sgemm1x32(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	TESTQ  CX, CX
	JZ     epilogue1

loop1:
	VMOVUPS (DX), Z24
	VMOVUPS 64(DX), Z25
	FMAROW((SI), Z0, Z1)
	ADDQ    $4, SI
	ADDQ    $128, DX
	DECQ    CX
	JNZ     loop1

epilogue1:
	MOVQ    c+24(FP), DI
	MOVQ    bias+32(FP), BX
	VMOVUPS (BX), Z28
	VMOVUPS 64(BX), Z29
	MOVQ    mask+48(FP), AX
	KMOVW   AX, K1
	SHRQ    $16, AX
	KMOVW   AX, K2
	MOVQ    add+40(FP), R10
	TESTQ   R10, R10
	JNZ     add1
	STOREROW(Z0, Z1)
	VZEROUPPER
	RET

add1:
	ADDROW(Z0, Z1)
	VZEROUPPER
	RET

// func sgemm1x64(k int, a, b, c *float32, bstride int, bias *float32, add int)
//
// Two full panels of one row (b and b+bstride floats; c and bias cover 64
// columns): four independent chains instead of two, per lane the same sums
// as sgemm1x32.
TEXT ·sgemm1x64(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DX
	MOVQ   bstride+32(FP), R11
	SHLQ   $2, R11
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	TESTQ  CX, CX
	JZ     epilogue2

loop2:
	VMOVUPS          (DX), Z24
	VMOVUPS          64(DX), Z25
	VMOVUPS          (DX)(R11*1), Z26
	VMOVUPS          64(DX)(R11*1), Z27
	VBROADCASTSS     (SI), Z30
	VFMADD231PS      Z30, Z24, Z0
	VFMADD231PS      Z30, Z25, Z1
	VFMADD231PS      Z30, Z26, Z2
	VFMADD231PS      Z30, Z27, Z3
	ADDQ             $4, SI
	ADDQ             $128, DX
	DECQ             CX
	JNZ              loop2

epilogue2:
	MOVQ    c+24(FP), DI
	MOVQ    bias+40(FP), BX
	MOVQ    add+48(FP), R10
	VADDPS  (BX), Z0, Z0
	VADDPS  64(BX), Z1, Z1
	VADDPS  128(BX), Z2, Z2
	VADDPS  192(BX), Z3, Z3
	TESTQ   R10, R10
	JZ      store2
	VADDPS  (DI), Z0, Z0
	VADDPS  64(DI), Z1, Z1
	VADDPS  128(DI), Z2, Z2
	VADDPS  192(DI), Z3, Z3

store2:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VZEROUPPER
	RET

// func sgemm1x128(k int, a, b, c *float32, bstride int, bias *float32, add int)
//
// Four full panels of one row (b, b+bstride, b+2 bstride and b+3 bstride
// floats; c and bias cover 128 columns): eight independent chains, per lane
// the same sums as sgemm1x32.
TEXT ·sgemm1x128(SB), NOSPLIT, $0-56
	MOVQ   k+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DX
	MOVQ   bstride+32(FP), R11
	SHLQ   $2, R11
	LEAQ   (R11)(R11*2), R12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	TESTQ  CX, CX
	JZ     epilogue4

loop4:
	VBROADCASTSS (SI), Z30
	VFMADD231PS  (DX), Z30, Z0
	VFMADD231PS  64(DX), Z30, Z1
	VFMADD231PS  (DX)(R11*1), Z30, Z2
	VFMADD231PS  64(DX)(R11*1), Z30, Z3
	VFMADD231PS  (DX)(R11*2), Z30, Z4
	VFMADD231PS  64(DX)(R11*2), Z30, Z5
	VFMADD231PS  (DX)(R12*1), Z30, Z6
	VFMADD231PS  64(DX)(R12*1), Z30, Z7
	ADDQ         $4, SI
	ADDQ         $128, DX
	DECQ         CX
	JNZ          loop4

epilogue4:
	MOVQ   c+24(FP), DI
	MOVQ   bias+40(FP), BX
	MOVQ   add+48(FP), R10
	VADDPS (BX), Z0, Z0
	VADDPS 64(BX), Z1, Z1
	VADDPS 128(BX), Z2, Z2
	VADDPS 192(BX), Z3, Z3
	VADDPS 256(BX), Z4, Z4
	VADDPS 320(BX), Z5, Z5
	VADDPS 384(BX), Z6, Z6
	VADDPS 448(BX), Z7, Z7
	TESTQ  R10, R10
	JZ     store4
	VADDPS (DI), Z0, Z0
	VADDPS 64(DI), Z1, Z1
	VADDPS 128(DI), Z2, Z2
	VADDPS 192(DI), Z3, Z3
	VADDPS 256(DI), Z4, Z4
	VADDPS 320(DI), Z5, Z5
	VADDPS 384(DI), Z6, Z6
	VADDPS 448(DI), Z7, Z7

store4:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VZEROUPPER
	RET

DATA expc<>+0(SB)/4, $-104.0           // below this exp is 0 in float32
DATA expc<>+4(SB)/4, $88.72283935546875 // above this exp is +Inf
DATA expc<>+8(SB)/4, $1.44269504088896341
DATA expc<>+12(SB)/4, $0.693359375
DATA expc<>+16(SB)/4, $-2.12194440e-4
DATA expc<>+20(SB)/4, $1.9875691500e-4
DATA expc<>+24(SB)/4, $1.3981999507e-3
DATA expc<>+28(SB)/4, $8.3334519073e-3
DATA expc<>+32(SB)/4, $4.1665795894e-2
DATA expc<>+36(SB)/4, $1.6666665459e-1
DATA expc<>+40(SB)/4, $5.0000001201e-1
DATA expc<>+44(SB)/4, $1.0
DATA expc<>+48(SB)/4, $0xff800000 // -Inf
DATA expc<>+52(SB)/4, $0x80000000 // -0.0, the sign bit
DATA expc<>+56(SB)/4, $0.3275911
DATA expc<>+60(SB)/4, $0.254829592
DATA expc<>+64(SB)/4, $-0.284496736
DATA expc<>+68(SB)/4, $1.421413741
DATA expc<>+72(SB)/4, $-1.453152027
DATA expc<>+76(SB)/4, $1.061405429
DATA expc<>+80(SB)/4, $0.70710678118654752440 // 1/sqrt(2)
DATA expc<>+84(SB)/4, $0.5
GLOBL expc<>(SB), RODATA|NOPTR, $88

// Loads exp's constants into Z20-Z31.
#define EXPCONST \
	VBROADCASTSS expc<>+0(SB), Z20; \
	VBROADCASTSS expc<>+4(SB), Z21; \
	VBROADCASTSS expc<>+8(SB), Z22; \
	VBROADCASTSS expc<>+12(SB), Z23; \
	VBROADCASTSS expc<>+16(SB), Z24; \
	VBROADCASTSS expc<>+20(SB), Z25; \
	VBROADCASTSS expc<>+24(SB), Z26; \
	VBROADCASTSS expc<>+28(SB), Z27; \
	VBROADCASTSS expc<>+32(SB), Z28; \
	VBROADCASTSS expc<>+36(SB), Z29; \
	VBROADCASTSS expc<>+40(SB), Z30; \
	VBROADCASTSS expc<>+44(SB), Z31

// x = exp(x) (Cephes expf: x = n ln2 + r, |r| <= ln2/2, degree-6
// polynomial in r, times 2^n by VSCALEFPS), using t1 and t2.
#define EXP(x, t1, t2) \
	VMAXPS       Z20, x, x; \
	VMINPS       Z21, x, x; \
	VMULPS       Z22, x, t1; \
	VRNDSCALEPS  $0, t1, t1; \
	VFNMADD231PS Z23, t1, x; \
	VFNMADD231PS Z24, t1, x; \
	VMOVAPS      Z25, t2; \
	VFMADD213PS  Z26, x, t2; \
	VFMADD213PS  Z27, x, t2; \
	VFMADD213PS  Z28, x, t2; \
	VFMADD213PS  Z29, x, t2; \
	VFMADD213PS  Z30, x, t2; \
	VMULPS       x, t2, t2; \
	VFMADD213PS  x, x, t2; \
	VADDPS       Z31, t2, t2; \
	VSCALEFPS    t1, t2, x

// Horizontal reduction of z (its lower halves y and x) with op, t/ty/tx
// scratch; the result is broadcast to every lane of z.
#define HREDUCE(op, z, y, x, t, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	op            ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	op            tx, x, x; \
	VPERMILPS     $0x4e, x, tx; \
	op            tx, x, x; \
	VPERMILPS     $0xb1, x, tx; \
	op            tx, x, x; \
	VBROADCASTSS  x, z

// func softmaxRowAVX512(s *float32, n int, scale float32)
//
// s[i] = exp(scale*s[i] - m) / sum over the n >= 1 values, m the largest
// scale*s[i]; sums and maxima run in 16 lanes, reduced in a fixed order.
TEXT ·softmaxRowAVX512(SB), NOSPLIT, $0-20
	EXPCONST
	MOVQ         s+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS scale+16(FP), Z1
	VBROADCASTSS expc<>+48(SB), Z2  // running max, -Inf
	MOVQ         CX, BX
	SHRQ         $4, BX             // full vectors
	ANDQ         $15, CX            // tail
	MOVL         $1, AX
	SHLL         CX, AX
	DECL         AX
	KMOVW        AX, K1             // tail lanes

	MOVQ  DI, SI
	MOVQ  BX, DX
	TESTQ DX, DX
	JZ    maxtail

maxloop:
	VMULPS  (SI), Z1, Z3
	VMOVUPS Z3, (SI)
	VMAXPS  Z3, Z2, Z2
	ADDQ    $64, SI
	DECQ    DX
	JNZ     maxloop

maxtail:
	TESTQ   CX, CX
	JZ      maxdone
	VMOVUPS.Z (SI), K1, Z3
	VMULPS  Z3, Z1, Z3
	VMOVUPS Z3, K1, (SI)
	VMAXPS  Z3, Z2, K1, Z2

maxdone:
	HREDUCE(VMAXPS, Z2, Y2, X2, Z3, Y3, X3)

	VPXORD Z4, Z4, Z4 // sum
	MOVQ   DI, SI
	MOVQ   BX, DX
	TESTQ  DX, DX
	JZ     exptail

exploop:
	VMOVUPS (SI), Z5
	VSUBPS  Z2, Z5, Z5
	EXP(Z5, Z6, Z7)
	VMOVUPS Z5, (SI)
	VADDPS  Z5, Z4, Z4
	ADDQ    $64, SI
	DECQ    DX
	JNZ     exploop

exptail:
	TESTQ     CX, CX
	JZ        expdone
	VMOVUPS.Z (SI), K1, Z5
	VSUBPS    Z2, Z5, Z5
	EXP(Z5, Z6, Z7)
	VMOVUPS   Z5, K1, (SI)
	VADDPS    Z5, Z4, K1, Z4

expdone:
	HREDUCE(VADDPS, Z4, Y4, X4, Z3, Y3, X3)
	VDIVPS Z4, Z31, Z4 // 1/sum

	MOVQ  DI, SI
	MOVQ  BX, DX
	TESTQ DX, DX
	JZ    scaletail

scaleloop:
	VMULPS  (SI), Z4, Z5
	VMOVUPS Z5, (SI)
	ADDQ    $64, SI
	DECQ    DX
	JNZ     scaleloop

scaletail:
	TESTQ   CX, CX
	JZ      scaledone
	VMOVUPS.Z (SI), K1, Z5
	VMULPS  Z5, Z4, Z5
	VMOVUPS Z5, K1, (SI)

scaledone:
	VZEROUPPER
	RET

// y = GELU(x) = (x*0.5) * (1 + erf(x/sqrt 2)), erf as ATen's vectorised one
// (Abramowitz and Stegun 7.1.26, |error| <= 1.5e-7), using Z8-Z19 for its
// constants and Z0-Z7 as scratch.
#define GELU(x) \
	VMULPS       Z18, x, Z1; \
	VPANDD       Z11, Z1, Z2; \
	VPXORD       Z2, Z1, Z3; \
	VMOVAPS      Z12, Z4; \
	VFMADD213PS  Z10, Z3, Z4; \
	VDIVPS       Z4, Z10, Z4; \
	VMOVAPS      Z17, Z5; \
	VFMADD213PS  Z16, Z4, Z5; \
	VFMADD213PS  Z15, Z4, Z5; \
	VFMADD213PS  Z14, Z4, Z5; \
	VFMADD213PS  Z13, Z4, Z5; \
	VMULPS       Z1, Z1, Z6; \
	VPXORD       Z11, Z6, Z6; \
	EXP(Z6, Z7, Z3); \
	VPXORD       Z11, Z6, Z6; \
	VMULPS       Z4, Z6, Z6; \
	VFMADD213PS  Z10, Z5, Z6; \
	VPXORD       Z2, Z6, Z6; \
	VADDPS       Z10, Z6, Z6; \
	VMULPS       Z19, x, x; \
	VMULPS       Z6, x, x

// func geluAVX512(dst, src *float32, n int)
TEXT ·geluAVX512(SB), NOSPLIT, $0-24
	EXPCONST
	VBROADCASTSS expc<>+44(SB), Z10 // 1
	VBROADCASTSS expc<>+52(SB), Z11 // -0
	VBROADCASTSS expc<>+56(SB), Z12 // p
	VBROADCASTSS expc<>+60(SB), Z13 // p1
	VBROADCASTSS expc<>+64(SB), Z14
	VBROADCASTSS expc<>+68(SB), Z15
	VBROADCASTSS expc<>+72(SB), Z16
	VBROADCASTSS expc<>+76(SB), Z17 // p5
	VBROADCASTSS expc<>+80(SB), Z18 // 1/sqrt2
	VBROADCASTSS expc<>+84(SB), Z19 // 0.5
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVQ         CX, BX
	SHRQ         $4, BX
	ANDQ         $15, CX
	TESTQ        BX, BX
	JZ           gelutail

geluloop:
	VMOVUPS (SI), Z9
	GELU(Z9)
	VMOVUPS Z9, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    BX
	JNZ     geluloop

gelutail:
	TESTQ     CX, CX
	JZ        geludone
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K1
	VMOVUPS.Z (SI), K1, Z9
	GELU(Z9)
	VMOVUPS   Z9, K1, (DI)

geludone:
	VZEROUPPER
	RET

// func layerNormAVX512(dst, x, w, b *float32, n int)
//
// dst = (x - mean) * (1/sqrt(var + 1e-5)) * w + b over n >= 1 values, the
// mean and the biased variance summed in 16 lanes and reduced in a fixed order.
TEXT ·layerNormAVX512(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  x+8(FP), SI
	MOVQ  w+16(FP), R8
	MOVQ  b+24(FP), R9
	MOVQ  n+32(FP), CX
	MOVQ  CX, BX
	SHRQ  $4, BX   // full vectors
	MOVQ  CX, DX
	ANDQ  $15, DX  // tail
	MOVL  $1, AX
	MOVQ  CX, R10
	MOVQ  DX, CX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	MOVQ  R10, CX
	CVTSQ2SS CX, X6
	VBROADCASTSS X6, Z6  // n

	VPXORD Z0, Z0, Z0
	XORQ   AX, AX
	MOVQ   BX, R10
	TESTQ  R10, R10
	JZ     meantail

meanloop:
	VADDPS (SI)(AX*1), Z0, Z0
	ADDQ   $64, AX
	DECQ   R10
	JNZ    meanloop

meantail:
	TESTQ     DX, DX
	JZ        meandone
	VMOVUPS.Z (SI)(AX*1), K1, Z1
	VADDPS    Z1, Z0, Z0

meandone:
	HREDUCE(VADDPS, Z0, Y0, X0, Z1, Y1, X1)
	VDIVPS Z6, Z0, Z0 // mean

	VPXORD Z2, Z2, Z2
	XORQ   AX, AX
	MOVQ   BX, R10
	TESTQ  R10, R10
	JZ     vartail

varloop:
	VMOVUPS     (SI)(AX*1), Z1
	VSUBPS      Z0, Z1, Z1
	VFMADD231PS Z1, Z1, Z2
	ADDQ        $64, AX
	DECQ        R10
	JNZ         varloop

vartail:
	TESTQ     DX, DX
	JZ        vardone
	VMOVUPS.Z (SI)(AX*1), K1, Z1
	VSUBPS    Z0, Z1, K1, Z1
	VFMADD231PS Z1, Z1, Z2

vardone:
	HREDUCE(VADDPS, Z2, Y2, X2, Z1, Y1, X1)
	VDIVPS       Z6, Z2, Z2 // variance
	VBROADCASTSS lnc<>+0(SB), Z3
	VADDPS       Z3, Z2, Z2
	VSQRTPS      Z2, Z2
	VBROADCASTSS lnc<>+4(SB), Z3
	VDIVPS       Z2, Z3, Z2 // 1/sqrt(var+eps)

	XORQ  AX, AX
	MOVQ  BX, R10
	TESTQ R10, R10
	JZ    outtail

outloop:
	VMOVUPS     (SI)(AX*1), Z1
	VSUBPS      Z0, Z1, Z1
	VMULPS      Z2, Z1, Z1
	VMOVUPS     (R8)(AX*1), Z3
	VFMADD213PS (R9)(AX*1), Z3, Z1
	VMOVUPS     Z1, (DI)(AX*1)
	ADDQ        $64, AX
	DECQ        R10
	JNZ         outloop

outtail:
	TESTQ       DX, DX
	JZ          outdone
	VMOVUPS.Z   (SI)(AX*1), K1, Z1
	VSUBPS      Z0, Z1, Z1
	VMULPS      Z2, Z1, Z1
	VMOVUPS.Z   (R8)(AX*1), K1, Z3
	VMOVUPS.Z   (R9)(AX*1), K1, Z4
	VFMADD213PS Z4, Z3, Z1
	VMOVUPS     Z1, K1, (DI)(AX*1)

outdone:
	VZEROUPPER
	RET

DATA lnc<>+0(SB)/4, $1e-5
DATA lnc<>+4(SB)/4, $1.0
GLOBL lnc<>(SB), RODATA|NOPTR, $8
