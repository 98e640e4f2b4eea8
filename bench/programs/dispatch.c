/* dispatch: a bytecode-interpreter-style dispatch loop (branchy).  A small
 * stack-machine VM, one `switch` per bytecode, runs a guest program with a
 * loop, arithmetic, comparisons, conditional jumps and local variables:
 * unpredictable indirect branches, the pattern of every interpreter (and of
 * parsers and state machines).  Size n: outer iterations of the guest loop. */
#define BENCH_NAME "dispatch"
#define BENCH_DEFAULT_N 400000

#include <stdint.h>

enum op {
    OP_PUSH,  /* push imm */
    OP_LOAD,  /* push local[imm] */
    OP_STORE, /* local[imm] = pop */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_XOR,
    OP_SHR,   /* a >> (b & 31) */
    OP_AND,
    OP_LT,    /* a < b (unsigned) */
    OP_JZ,    /* if pop == 0 goto imm */
    OP_JMP,   /* goto imm */
    OP_HALT,
};

struct insn {
    uint8_t op;
    int32_t imm;
};

/* locals: 0 = i, 1 = n, 2 = acc, 3 = j, 4 = t
 *   i = 0
 *   while i < n:
 *     j = 0
 *     while j < 8:
 *       t = acc * 33 ^ (i + j)
 *       if (t & 3) == 0: acc = t >> 3  else: acc = t + j
 *       j = j + 1
 *     i = i + 1
 */
static const struct insn program[] = {
    /* 0 */ {OP_PUSH, 0},  {OP_STORE, 0},
    /* 2: outer test */ {OP_LOAD, 0}, {OP_LOAD, 1}, {OP_LT, 0}, {OP_JZ, 45},
    /* 6 */ {OP_PUSH, 0}, {OP_STORE, 3},
    /* 8: inner test */ {OP_LOAD, 3}, {OP_PUSH, 8}, {OP_LT, 0}, {OP_JZ, 40},
    /* 12: t = acc*33 ^ (i+j) */ {OP_LOAD, 2}, {OP_PUSH, 33}, {OP_MUL, 0}, {OP_LOAD, 0}, {OP_LOAD, 3},
    /* 17 */ {OP_ADD, 0}, {OP_XOR, 0}, {OP_STORE, 4},
    /* 20: if (t & 3) == 0 */ {OP_LOAD, 4}, {OP_PUSH, 3}, {OP_AND, 0}, {OP_JZ, 30},
    /* 24: else acc = t + j */ {OP_LOAD, 4}, {OP_LOAD, 3}, {OP_ADD, 0}, {OP_STORE, 2}, {OP_JMP, 34},
    /* 29 (padding, never reached) */ {OP_HALT, 0},
    /* 30: acc = t >> 3 */ {OP_LOAD, 4}, {OP_PUSH, 3}, {OP_SHR, 0}, {OP_STORE, 2},
    /* 34: j = j + 1 */ {OP_LOAD, 3}, {OP_PUSH, 1}, {OP_ADD, 0}, {OP_STORE, 3}, {OP_JMP, 8},
    /* 39 (padding) */ {OP_HALT, 0},
    /* 40: i = i + 1 */ {OP_LOAD, 0}, {OP_PUSH, 1}, {OP_ADD, 0}, {OP_STORE, 0}, {OP_JMP, 2},
    /* 45 */ {OP_HALT, 0},
};

static uint32_t execute(const struct insn *code, uint32_t n) {
    uint32_t stack[16], locals[8] = {0, n, 1, 0, 0, 0, 0, 0};
    uint32_t sp = 0, pc = 0;
    for (;;) {
        struct insn in = code[pc++];
        switch (in.op) {
        case OP_PUSH: stack[sp++] = (uint32_t)in.imm; break;
        case OP_LOAD: stack[sp++] = locals[in.imm]; break;
        case OP_STORE: locals[in.imm] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case OP_SHR: sp--; stack[sp - 1] >>= (stack[sp] & 31); break;
        case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case OP_JZ: if (stack[--sp] == 0) pc = (uint32_t)in.imm; break;
        case OP_JMP: pc = (uint32_t)in.imm; break;
        case OP_HALT: return locals[2];
        default: return 0xdeadbeefu;
        }
    }
}

static uint32_t bench(uint32_t n) { return execute(program, n); }

#include "bench_main.h"
