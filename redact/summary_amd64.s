#include "textflag.h"

// Constants: one byte repeated 32 times.
#define CONST32(name, v) \
	DATA name<>+0(SB)/8, v; \
	DATA name<>+8(SB)/8, v; \
	DATA name<>+16(SB)/8, v; \
	DATA name<>+24(SB)/8, v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

CONST32(sumSpace, $0x2020202020202020) // ' ', and the case bit
CONST32(sumZero, $0x3030303030303030)  // '0'
CONST32(sumNine, $0x0909090909090909)  // 9
CONST32(sumDash, $0x2d2d2d2d2d2d2d2d)  // '-'
CONST32(sumAt, $0x4040404040404040)    // '@'
CONST32(sumPct, $0x2525252525252525)   // '%'
CONST32(sumPlus, $0x2b2b2b2b2b2b2b2b)  // '+'
CONST32(sumLowY, $0x7979797979797979)  // 'y'
CONST32(sumJ, $0x4a4a4a4a4a4a4a4a)     // 'J'
CONST32(sumI, $0x4949494949494949)     // 'I'
CONST32(sumA, $0x4141414141414141)     // 'A'
CONST32(sumLowB, $0x6262626262626262)  // 'b'
CONST32(sumLowE, $0x6565656565656565)  // 'e'
CONST32(sumLowZ, $0x7a7a7a7a7a7a7a7a)  // 'z'
CONST32(sumLowA, $0x6161616161616161)  // 'a'

// BLOCK folds the 32 bytes at SI (and the byte after them) into the
// accumulators: Y8 email, Y9 jwt, Y10 aws, Y11 bearer; R8 holds the
// card-class bits (digit, space, '-', '+', '%') of the last 64 bytes (newest in the top half) and R9
// gathers the positions where 13 of them follow each other.
#define BLOCK \
	VMOVDQU (SI), Y0; \
	VMOVDQU 1(SI), Y1; \
	VPOR Y12, Y0, Y2; \
	VPOR Y12, Y1, Y3; \
	\
	VPCMPEQB sumAt<>(SB), Y0, Y4; \
	VPCMPEQB sumPct<>(SB), Y0, Y5; \
	VPOR Y4, Y5, Y4; \
	VPOR Y4, Y8, Y8; \
	\
	VPCMPEQB sumLowY<>(SB), Y0, Y4; \
	VPCMPEQB sumJ<>(SB), Y1, Y5; \
	VPAND Y4, Y5, Y4; \
	VPOR Y4, Y9, Y9; \
	\
	VPCMPEQB sumI<>(SB), Y0, Y4; \
	VPCMPEQB sumA<>(SB), Y1, Y5; \
	VPAND Y4, Y5, Y4; \
	VPOR Y4, Y10, Y10; \
	\
	VPCMPEQB sumLowB<>(SB), Y2, Y4; \
	VPCMPEQB sumLowE<>(SB), Y3, Y5; \
	VPAND Y4, Y5, Y4; \
	VPCMPEQB sumLowZ<>(SB), Y2, Y5; \
	VPCMPEQB sumLowA<>(SB), Y3, Y6; \
	VPAND Y5, Y6, Y5; \
	VPOR Y4, Y5, Y4; \
	VPOR Y4, Y11, Y11; \
	\
	VPSUBB Y13, Y0, Y4; \
	VPMINUB Y14, Y4, Y5; \
	VPCMPEQB Y4, Y5, Y5; \
	VPCMPEQB Y12, Y0, Y4; \
	VPOR Y4, Y5, Y5; \
	VPCMPEQB Y15, Y0, Y4; \
	VPOR Y4, Y5, Y5; \
	VPCMPEQB sumPlus<>(SB), Y0, Y4; \
	VPOR Y4, Y5, Y5; \
	VPCMPEQB sumPct<>(SB), Y0, Y4; \
	VPOR Y4, Y5, Y5; \
	VPMOVMSKB Y5, AX; \
	SHRQ $32, R8; \
	SHLQ $32, AX; \
	ORQ AX, R8; \
	MOVQ R8, AX; \
	MOVQ AX, BX; \
	SHRQ $1, BX; \
	ANDQ BX, AX; \
	MOVQ AX, BX; \
	SHRQ $2, BX; \
	ANDQ BX, AX; \
	MOVQ AX, BX; \
	SHRQ $4, BX; \
	ANDQ BX, AX; \
	MOVQ AX, BX; \
	SHRQ $5, BX; \
	ANDQ BX, AX; \
	ORQ AX, R9

// func summaryAVX2(p *byte, n int, tail *[64]byte) uint32
TEXT ·summaryAVX2(SB), NOSPLIT, $0-28
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ tail+16(FP), DI
	VMOVDQU sumSpace<>(SB), Y12
	VMOVDQU sumZero<>(SB), Y13
	VMOVDQU sumNine<>(SB), Y14
	VMOVDQU sumDash<>(SB), Y15
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	XORQ R8, R8
	XORQ R9, R9
	TESTQ CX, CX
	JEQ tail

loop:
	BLOCK
	ADDQ $32, SI
	DECQ CX
	JNZ loop

tail:
	MOVQ DI, SI
	BLOCK

	XORL DX, DX
	VPMOVMSKB Y8, AX
	TESTL AX, AX
	JEQ 2(PC)
	ORL $1, DX
	VPMOVMSKB Y9, AX
	TESTL AX, AX
	JEQ 2(PC)
	ORL $2, DX
	VPMOVMSKB Y10, AX
	TESTL AX, AX
	JEQ 2(PC)
	ORL $4, DX
	VPMOVMSKB Y11, AX
	TESTL AX, AX
	JEQ 2(PC)
	ORL $8, DX
	TESTQ R9, R9
	JEQ 2(PC)
	ORL $16, DX
	VZEROUPPER
	MOVL DX, ret+24(FP)
	RET

CONST32(sumEq, $0x3d3d3d3d3d3d3d3d)    // '='
CONST32(sumColon, $0x3a3a3a3a3a3a3a3a) // ':'

// func eqColonMasksAVX2(p *byte) (eq, colon uint64)
//
// Bit k of eq is set when p[k] == '=', of colon when p[k] == ':', for the
// 64 bytes at p.
TEXT ·eqColonMasksAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU sumEq<>(SB), Y2
	VMOVDQU sumColon<>(SB), Y3
	VPCMPEQB Y2, Y0, Y4
	VPCMPEQB Y2, Y1, Y5
	VPMOVMSKB Y4, AX
	VPMOVMSKB Y5, BX
	SHLQ $32, BX
	ORQ BX, AX
	VPCMPEQB Y3, Y0, Y4
	VPCMPEQB Y3, Y1, Y5
	VPMOVMSKB Y4, CX
	VPMOVMSKB Y5, DX
	SHLQ $32, DX
	ORQ DX, CX
	VZEROUPPER
	MOVQ AX, eq+8(FP)
	MOVQ CX, colon+16(FP)
	RET
