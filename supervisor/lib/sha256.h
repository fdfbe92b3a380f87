/* sha256: SHA-256 of bytes, as 64 lowercase hex digits. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct Sha256 {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t n;
} Sha256;
void sha256_init(Sha256 *c);
void sha256_update(Sha256 *c, const void *data, size_t len);
/* Ends the digest: 64 hex digits and a NUL in out. c is spent. */
void sha256_hex(Sha256 *c, char out[65]);
/* The digest of one buffer. */
void sha256_hex_of(const void *data, size_t len, char out[65]);
