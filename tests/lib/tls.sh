# tls.sh - throwaway certificates for TLS tests, sourced by test scripts.
#
# Owns nothing but the files it writes into the folder it is given; it
# never touches the system's trust store. Made with openssl, RSA 2048,
# valid for a day.
#
#   tls_make DIR   writes into DIR:
#                  ca.pem, ca-key.pem                 a test CA
#                  server-cert.pem, server-key.pem    signed by it, for
#                                                     CN 127.0.0.1 with SAN
#                                                     IP:127.0.0.1,
#                                                     IP:::1, DNS:localhost
#                  wrong-name-cert.pem, -key.pem      signed by it, for
#                                                     the name db.invalid only
#                  client-cert.pem, client-key.pem    signed by it (CN
#                                                     feed-core)
#                  other-ca.pem, other-ca-key.pem     an unrelated CA that
#                                                     signed nothing here
#                  Keys are 0600. Returns 0, or 1 with openssl's output on
#                  stderr.

# _tls_run CMD...: runs openssl quietly, shows its output only on failure.
_tls_run() {
    local out

    if ! out=$(openssl "$@" 2>&1); then
        echo "tls: openssl $1 failed:" >&2
        echo "$out" >&2
        return 1
    fi
}

# _tls_ca DIR NAME CN: a self-signed CA, DIR/NAME.pem and DIR/NAME-key.pem.
_tls_ca() {
    _tls_run req -x509 -newkey rsa:2048 -nodes -days 1 -sha256 \
        -subj "/CN=$3" -keyout "$1/$2-key.pem" -out "$1/$2.pem" \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign
}

# _tls_leaf DIR NAME CN EXT: a key and a certificate signed by DIR/ca.pem.
_tls_leaf() {
    local dir=$1 name=$2

    _tls_run req -newkey rsa:2048 -nodes -subj "/CN=$3" \
        -keyout "$dir/$name-key.pem" -out "$dir/$name.csr" || return 1
    printf '%s\n' "$4" >"$dir/$name.ext"
    _tls_run x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" \
        -CAkey "$dir/ca-key.pem" -CAcreateserial -days 1 -sha256 \
        -extfile "$dir/$name.ext" -out "$dir/$name-cert.pem" || return 1
    rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# tls_make DIR: the CA, server, client and unrelated CA (see above).
tls_make() {
    local dir=${1:?usage: tls_make DIR}

    command -v openssl >/dev/null 2>&1 || {
        echo "tls: openssl is not installed (Debian: apt-get install openssl)" >&2
        return 1
    }
    mkdir -p "$dir" || return 1
    (
        umask 077
        _tls_ca "$dir" ca "feed-core test CA" &&
            _tls_ca "$dir" other-ca "feed-core unrelated CA" &&
            _tls_leaf "$dir" server 127.0.0.1 "$(printf '%s\n' \
                'basicConstraints=CA:FALSE' \
                'keyUsage=digitalSignature,keyEncipherment' \
                'extendedKeyUsage=serverAuth' \
                'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost')" &&
            _tls_leaf "$dir" wrong-name db.invalid "$(printf '%s\n' \
                'basicConstraints=CA:FALSE' \
                'keyUsage=digitalSignature,keyEncipherment' \
                'extendedKeyUsage=serverAuth' \
                'subjectAltName=DNS:db.invalid')" &&
            _tls_leaf "$dir" client feed-core "$(printf '%s\n' \
                'basicConstraints=CA:FALSE' \
                'keyUsage=digitalSignature,keyEncipherment' \
                'extendedKeyUsage=clientAuth')"
    ) || return 1
    # Certificates are public; the server (maybe another user) reads them.
    chmod 0644 "$dir"/*.pem && chmod 0600 "$dir"/*-key.pem
}
