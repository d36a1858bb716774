#!/bin/bash
# e2e_certs_csr: an operator makes a key and a request at the office; the CA
# signs the request; the key never goes to the CA. Bad requests are refused.
#
#   certs_csr_test.sh PATH/TO/xuncha-certs
set -u
certs=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xc-csr.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "  ok    $1"; }
fail() { echo "  FAIL  $1"; fails=$((fails + 1)); }
check() { if eval "$1"; then ok "$2"; else fail "$2"; fi; }

mkdir -p "$tmp/office" "$tmp/ca"
bash "$certs" ca "$tmp/ca" >/dev/null || fail "make the CA"

# At the office: key and request.
out=$(cd "$tmp/office" && bash "$certs" csr --cn office:310104 --out zhang 2>&1)
check '[ -f "$tmp/office/zhang.key" ] && [ -f "$tmp/office/zhang.csr" ]' "csr writes NAME.key and NAME.csr"
check '[ "$(stat -c %a "$tmp/office/zhang.key")" = 600 ]' "the key is mode 0600"
check 'grep -q "sign-csr" <<<"$out"' "csr says what to run at the CA"

# At the CA: only the .csr travels.
cp "$tmp/office/zhang.csr" "$tmp/ca/"
out=$(bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/ca/zhang.csr" 2>&1)
check '[ -f "$tmp/ca/office-310104.pem" ]' "sign-csr writes the certificate named after the CN"
check '[ ! -e "$tmp/ca/office-310104.key" ] && [ ! -e "$tmp/ca/zhang.key" ]' "no key was made or needed at the CA"
check 'openssl verify -CAfile "$tmp/ca/ca.pem" "$tmp/ca/office-310104.pem" >/dev/null 2>&1' "the certificate chains to the CA"
check 'openssl x509 -in "$tmp/ca/office-310104.pem" -noout -subject | grep -q "CN *= *office:310104"' "its subject is the requested CN"
check 'openssl x509 -in "$tmp/ca/office-310104.pem" -noout -ext extendedKeyUsage 2>/dev/null | grep -q "Client Authentication"' "it is a client certificate"
k1=$(openssl pkey -in "$tmp/office/zhang.key" -pubout 2>/dev/null)
k2=$(openssl x509 -in "$tmp/ca/office-310104.pem" -noout -pubkey 2>/dev/null)
check '[ -n "$k1" ] && [ "$k1" = "$k2" ]' "it certifies the office's own key"
bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/ca/zhang.csr" >/dev/null 2>&1
check '[ $? -ne 0 ]' "signing again without --force is refused"
bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/ca/zhang.csr" --out zhang2 >/dev/null 2>&1
check '[ $? -eq 0 ] && [ -f "$tmp/ca/zhang2.pem" ]' "--out names the certificate"

# Bad requests.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/bad.key" \
  -subj "/CN=office:12" -out "$tmp/badcn.csr" 2>/dev/null
out=$(bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/badcn.csr" 2>&1)
check '[ $? -ne 0 ] && grep -q "not a xuncha identity" <<<"$out"' "a CN that is not an identity is refused"
openssl req -new -key "$tmp/bad.key" -subj "/O=Example/CN=office:3101" -out "$tmp/multi.csr" 2>/dev/null
out=$(bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/multi.csr" 2>&1)
check '[ $? -ne 0 ] && grep -q "exactly one CN" <<<"$out"' "a subject with more than a CN is refused"
cp "$tmp/office/zhang.csr" "$tmp/tampered.csr"
sed -i '3s/./A/; 4s/./B/' "$tmp/tampered.csr"
out=$(bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/tampered.csr" --out t 2>&1)
check '[ $? -ne 0 ] && [ ! -e "$tmp/ca/t.pem" ]' "a damaged request is refused"
out=$(bash "$certs" sign-csr "$tmp/ca" --csr "$tmp/nothere.csr" 2>&1)
check '[ $? -ne 0 ] && grep -q "no such file" <<<"$out"' "a missing request file is refused"
out=$(bash "$certs" csr --cn nobody 2>&1)
check '[ $? -ne 0 ]' "csr refuses a CN that is not an identity"

if [ "$fails" -ne 0 ]; then echo "$fails checks failed"; exit 1; fi
echo "all checks passed"
