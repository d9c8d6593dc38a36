#include "textflag.h"

// func specialMask32(p *byte) uint32
//
// Bit k is set when p[k] (k < 32) is a quote, a backslash, below 0x20 or
// at least 0x80: a byte appendJSONBytes must look at. SSE2 only, which
// every amd64 processor has.
TEXT ·specialMask32(SB), NOSPLIT, $0-12
	MOVQ p+0(FP), SI
	MOVQ $0x2222222222222222, AX
	MOVQ AX, X2
	PUNPCKLQDQ X2, X2 // '"' in every byte
	MOVQ $0x5c5c5c5c5c5c5c5c, AX
	MOVQ AX, X3
	PUNPCKLQDQ X3, X3 // '\\'
	MOVQ $0x1f1f1f1f1f1f1f1f, AX
	MOVQ AX, X4
	PUNPCKLQDQ X4, X4 // 0x1f

	MOVOU (SI), X0
	MOVO X0, X5
	PCMPEQB X2, X5    // == '"'
	MOVO X0, X6
	PCMPEQB X3, X6    // == '\\'
	POR X6, X5
	MOVO X0, X6
	PMINUB X4, X6
	PCMPEQB X0, X6    // min(x, 0x1f) == x: x <= 0x1f
	POR X6, X5
	POR X0, X5        // top bit of x: x >= 0x80
	PMOVMSKB X5, AX

	MOVOU 16(SI), X1
	MOVO X1, X5
	PCMPEQB X2, X5
	MOVO X1, X6
	PCMPEQB X3, X6
	POR X6, X5
	MOVO X1, X6
	PMINUB X4, X6
	PCMPEQB X1, X6
	POR X6, X5
	POR X1, X5
	PMOVMSKB X5, BX

	SHLL $16, BX
	ORL BX, AX
	MOVL AX, ret+8(FP)
	RET
