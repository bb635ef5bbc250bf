/*
 * fuzz_zcert.c - libFuzzer target for the certificate reader (lib/zcert).
 *
 * A certificate is outside input: an operator copies it from a client.
 * The input is the file's text. Invariants, checked with abort():
 *   - a certificate read has a public key of 40 Z85 characters that
 *     decodes, and a secret key only if it belongs to that public key;
 *   - its name is empty or a valid client name;
 *   - a refusal leaves one line of reason and nothing of the certificate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "zcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        if (b[i] != 0) {
            return 0;
        }
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zcert cert;
    char err[256] = "";
    char why[256];
    uint8_t raw[32];
    char derived[41];

    if (zcert_parse((const char *)data, size, &cert, err, sizeof err) == -1) {
        if (err[0] == '\0' || strchr(err, '\n') != NULL ||
            !is_zero(&cert, sizeof cert)) {
            abort();
        }
        return 0;
    }
    if (strlen(cert.public_z85) != 40 ||
        zmq_z85_decode(raw, cert.public_z85) == NULL) {
        abort();
    }
    if (cert.has_secret) {
        if (zmq_curve_public(derived, cert.secret_z85) == -1 ||
            strcmp(derived, cert.public_z85) != 0) {
            abort();
        }
    } else if (cert.secret_z85[0] != '\0') {
        abort();
    }
    if (cert.name[0] != '\0' &&
        zcert_check_name(cert.name, why, sizeof why) == -1) {
        abort();
    }
    return 0;
}
