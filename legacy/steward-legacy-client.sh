#!/bin/sh
# steward-legacy-client.sh: the Steward legacy client (docs/legacy-client.md).
#
# A minimal client for machines that cannot run the agent. It needs only a POSIX shell and curl,
# tar, sha256sum, base64, od, sed and the other POSIX utilities; with openssl (1.1.1 or 3.x, for
# Ed25519) it checks the site's signature on every list of deployments against the site key pinned
# at install. Without openssl it refuses to run anything, unless it was told
# --insecure-no-signatures, which the site records and the audit counts.
#
#   steward-legacy-client.sh enroll --data DIR --site URL --site-key FILE
#                                   (--token-file FILE | --token TOKEN) [--hostname NAME]
#                                   [--ca-file FILE] [--insecure-no-signatures]
#   steward-legacy-client.sh run    --data DIR [--insecure-no-signatures]
#
# Errors go to standard error as `error ERR_...: message` with a non-zero exit status.

set -u
umask 077

LIST_FORMAT='steward-legacy-list/v1'
LIST_TYPE='application/vnd.steward.legacy-list+text'
# RFC 8032 section 7.1, test 2: proves that this openssl really checks Ed25519 signatures.
VECTOR_KEY='MCowBQYDK2VwAyEAPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw='
VECTOR_SIG='kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA=='
MAX_LIST_BYTES=1048576

DATA=''
WORK=''
CA_FILE=''
HTTP_STATUS=''
REFUSED=0

die() {
  die_code=$1
  shift
  printf 'error %s: %s\n' "$die_code" "$*" >&2
  exit 1
}

say() {
  printf '%s\n' "$*"
}

cleanup() {
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then rm -rf "$WORK"; fi
}

need() {
  for need_tool in "$@"; do
    command -v "$need_tool" >/dev/null 2>&1 || die ERR_LEGACY_TOOL_MISSING "$need_tool is not installed"
  done
}

# A value from the config file: `name=value` lines, read, never executed.
config_value() {
  sed -n "s/^$1=//p" "$DATA/config" | head -n 1
}

is_uint() {
  case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

is_hex64() {
  case $1 in *[!0-9a-f]*) return 1 ;; esac
  [ "${#1}" -eq 64 ]
}

is_word() {
  case $1 in '' | [!A-Za-z0-9]* | *[!A-Za-z0-9._:,-]*) return 1 ;; *) return 0 ;; esac
}

# A path inside the package: letters, digits and . _ - / only, no empty, . or .. segment.
is_inner_path() {
  [ "$1" = . ] && return 0
  case $1 in '' | /* | */ | *//* | *[!A-Za-z0-9._/-]*) return 1 ;; esac
  case /$1/ in */./* | */../*) return 1 ;; esac
  return 0
}

random_hex() {
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

# http METHOD URL OUTFILE [BODYFILE]: sets HTTP_STATUS (000 when curl could not talk to the site).
# The client secret travels in a header file, never on a command line.
http() {
  http_method=$1
  http_url=$2
  http_out=$3
  http_body=${4:-}
  set -- -sS -X "$http_method" -o "$http_out" -w '%{http_code}' --max-time 600 --proto '=http,https'
  if [ -n "$CA_FILE" ]; then set -- "$@" --cacert "$CA_FILE"; fi
  if [ -f "$DATA/auth-header" ]; then set -- "$@" -H "@$DATA/auth-header"; fi
  if [ -n "$http_body" ]; then
    set -- "$@" -H 'Content-Type: text/plain' --data-binary "@$http_body"
  fi
  HTTP_STATUS=$(curl "$@" "$http_url") || HTTP_STATUS=000
}

# The site's error code in an answer body, or ERR_LEGACY_HTTP.
error_code_of() {
  error_found=$(sed -n 's/.*"code":"\(ERR_[A-Z0-9_]*\)".*/\1/p' "$1" 2>/dev/null | head -n 1)
  printf '%s' "${error_found:-ERR_LEGACY_HTTP}"
}

fail_http() {
  fail_code=$(error_code_of "$2")
  die "$fail_code" "$1 failed (HTTP $HTTP_STATUS)"
}

# True when openssl is present and really verifies Ed25519 (a good signature passes, a bad fails).
have_verifier() {
  command -v openssl >/dev/null 2>&1 || return 1
  printf '%s\n%s\n%s\n' '-----BEGIN PUBLIC KEY-----' "$VECTOR_KEY" '-----END PUBLIC KEY-----' >"$WORK/vector.pem"
  printf '%s' "$VECTOR_SIG" | base64 -d >"$WORK/vector.sig" 2>/dev/null || return 1
  printf 'r' >"$WORK/vector-good"
  printf 's' >"$WORK/vector-bad"
  openssl pkeyutl -verify -pubin -inkey "$WORK/vector.pem" -rawin -in "$WORK/vector-good" \
    -sigfile "$WORK/vector.sig" >/dev/null 2>&1 || return 1
  if openssl pkeyutl -verify -pubin -inkey "$WORK/vector.pem" -rawin -in "$WORK/vector-bad" \
    -sigfile "$WORK/vector.sig" >/dev/null 2>&1; then
    return 1
  fi
  return 0
}

# signature or none; refuses when no verifier is present and unverified running was not asked for.
verification_mode() {
  if have_verifier; then
    printf 'signature'
  elif [ "$1" = yes ]; then
    say 'warning: openssl cannot check Ed25519 signatures here: running UNVERIFIED (the site records this)' >&2
    printf 'none'
  else
    die ERR_LEGACY_NO_VERIFIER 'openssl with Ed25519 is not available, so the site signature cannot be checked; nothing runs (--insecure-no-signatures runs unverified, recorded by the site)'
  fi
}

# queue_status NAME DEPLOYMENT VERSION EXIT [DETAILFILE]: one line for the site, sent at the end.
queue_status() {
  queue_detail='-'
  if [ -n "${5:-}" ] && [ -s "$5" ]; then
    queue_detail=$(tail -c 2048 "$5" | base64 | tr -d '\n')
  fi
  printf 'status %s-%s %s %s %s %s %s %s\n' "$(date +%s)" "$(random_hex 6)" "$1" "$2" "$3" "$4" \
    "$(date +%s)" "$queue_detail" >>"$DATA/outbox"
}

# Sends the queued status lines, 100 per request; what the site did not take waits for the next run.
send_status() {
  while [ -s "$DATA/outbox" ]; do
    {
      printf 'steward-legacy-status/v1\n'
      head -n 100 "$DATA/outbox"
    } >"$WORK/status.txt"
    http POST "$SITE_URL/legacy/v1/status" "$WORK/status-answer" "$WORK/status.txt"
    if [ "$HTTP_STATUS" != 200 ]; then
      say "warning: status not sent (HTTP $HTTP_STATUS, $(error_code_of "$WORK/status-answer")); kept for the next run" >&2
      return 0
    fi
    sed '1,100d' "$DATA/outbox" >"$WORK/outbox.rest" && mv "$WORK/outbox.rest" "$DATA/outbox"
  done
}

refuse_list() {
  printf '%s\n' "$2" >"$WORK/refusal"
  queue_status assignments-refused - - - "$WORK/refusal"
  send_status
  die "$1" "$2"
}

load_config() {
  [ -f "$DATA/config" ] || die ERR_LEGACY_NOT_ENROLLED "no legacy client in $DATA (run enroll first)"
  DATA=$(cd "$DATA" && pwd) || die ERR_LEGACY_DATA "cannot enter $DATA"
  SITE_URL=$(config_value site_url)
  CLIENT_ID=$(config_value client_id)
  SITE_CODE=$(config_value site_code)
  if [ -f "$DATA/ca.pem" ]; then CA_FILE="$DATA/ca.pem"; fi
}

enroll() {
  site_url=''
  site_key=''
  token=''
  token_file=''
  name=''
  ca_file=''
  insecure=no
  while [ $# -gt 0 ]; do
    case $1 in
      --data) DATA=${2:-} && shift 2 ;;
      --site) site_url=${2:-} && shift 2 ;;
      --site-key) site_key=${2:-} && shift 2 ;;
      --token) token=${2:-} && shift 2 ;;
      --token-file) token_file=${2:-} && shift 2 ;;
      --hostname) name=${2:-} && shift 2 ;;
      --ca-file) ca_file=${2:-} && shift 2 ;;
      --insecure-no-signatures) insecure=yes && shift ;;
      *) die ERR_USAGE "unknown option $1" ;;
    esac
  done
  [ -n "$DATA" ] || die ERR_USAGE 'enroll needs --data DIR'
  case $site_url in http://* | https://*) ;; *) die ERR_USAGE 'enroll needs --site http(s)://HOST:PORT' ;; esac
  site_url=${site_url%/}
  [ -f "$site_key" ] || die ERR_USAGE "enroll needs --site-key FILE (the site key PEM from 'steward site legacy-clients key')"
  if [ -n "$token_file" ]; then token=$(head -n 1 "$token_file"); fi
  [ -n "$token" ] || die ERR_USAGE 'enroll needs --token-file FILE or --token TOKEN'
  if [ -z "$name" ]; then name=$(uname -n); fi
  if [ -f "$DATA/config" ]; then die ERR_LEGACY_ENROLLED "$DATA already holds an enrolled legacy client"; fi
  grep -q '^-----BEGIN PUBLIC KEY-----$' "$site_key" || die ERR_USAGE "$site_key is not a PEM public key"

  mkdir -p "$DATA" || die ERR_LEGACY_DATA "cannot create $DATA"
  chmod 700 "$DATA"
  DATA=$(cd "$DATA" && pwd) || die ERR_LEGACY_DATA "cannot enter $DATA"
  WORK=$(mktemp -d "$DATA/.work.XXXXXX") || die ERR_LEGACY_DATA "cannot write to $DATA"
  trap cleanup EXIT
  mode=$(verification_mode "$insecure") || exit 1
  if [ -n "$ca_file" ]; then
    cp "$ca_file" "$DATA/ca.pem" || die ERR_USAGE "cannot read $ca_file"
    CA_FILE="$DATA/ca.pem"
  fi

  secret=$(random_hex 32)
  is_hex64 "$secret" || die ERR_LEGACY_DATA 'cannot read 32 random bytes from /dev/urandom'
  printf 'steward-legacy-register/v1\ntoken %s\nsecret %s\nhostname %s\nverification %s\n' \
    "$token" "$secret" "$name" "$mode" >"$WORK/register.txt"
  http POST "$site_url/legacy/v1/register" "$WORK/answer" "$WORK/register.txt"
  rm -f "$WORK/register.txt"
  [ "$HTTP_STATUS" = 200 ] || fail_http 'registration' "$WORK/answer"
  client_id=$(sed -n 's/^client //p' "$WORK/answer")
  site_code=$(sed -n 's/^site //p' "$WORK/answer")
  is_hex64 "$client_id" || die ERR_LEGACY_PROTOCOL 'the site answered without a client id'

  cp "$site_key" "$DATA/site-key.pem" || die ERR_LEGACY_DATA "cannot write $DATA/site-key.pem"
  chmod 644 "$DATA/site-key.pem"
  printf 'Authorization: Bearer %s\n' "$secret" >"$DATA/auth-header"
  chmod 600 "$DATA/auth-header"
  {
    printf 'site_url=%s\n' "$site_url"
    printf 'client_id=%s\n' "$client_id"
    printf 'site_code=%s\n' "$site_code"
    printf 'verification=%s\n' "$mode"
  } >"$DATA/config"
  printf '0\n' >"$DATA/sequence"
  say "Enrolled at site $site_code as legacy client $client_id (verification: $mode)"
}

# Checks the list's signature with the pinned site key over PAE(type, list), the DSSE encoding.
verify_signature() {
  printf '%s' "$1" | base64 -d >"$WORK/list.sig" 2>/dev/null || return 1
  list_length=$(wc -c <"$WORK/list.txt" | tr -d ' ')
  {
    printf 'DSSEv1 %s %s %s ' "${#LIST_TYPE}" "$LIST_TYPE" "$list_length"
    cat "$WORK/list.txt"
  } >"$WORK/list.pae"
  openssl pkeyutl -verify -pubin -inkey "$DATA/site-key.pem" -rawin -in "$WORK/list.pae" \
    -sigfile "$WORK/list.sig" >/dev/null 2>&1
}

# Reads the verified list's header; every line must be one this client knows.
check_list() {
  [ "$(head -n 1 "$WORK/list.txt")" = "$LIST_FORMAT" ] || refuse_list ERR_LEGACY_LIST_INVALID 'not a legacy list'
  [ "$(tail -n 1 "$WORK/list.txt")" = end ] || refuse_list ERR_LEGACY_LIST_INVALID 'the list is cut short'
  list_site=''
  list_client=''
  list_sequence=''
  list_expires=''
  : >"$WORK/deployments"
  while IFS= read -r list_line; do
    case $list_line in
      "$LIST_FORMAT" | end) ;;
      'site '*) list_site=${list_line#site } ;;
      'client '*) list_client=${list_line#client } ;;
      'signer '* | 'issued '*) ;;
      'sequence '*) list_sequence=${list_line#sequence } ;;
      'expires-epoch '*) list_expires=${list_line#expires-epoch } ;;
      'deployment '*) printf '%s\n' "$list_line" >>"$WORK/deployments" ;;
      *) refuse_list ERR_LEGACY_LIST_INVALID 'the list has a line this client does not know' ;;
    esac
  done <"$WORK/list.txt"
  [ "$list_site" = "$SITE_CODE" ] || refuse_list ERR_LEGACY_WRONG_RECIPIENT "the list is for site $list_site"
  [ "$list_client" = "$CLIENT_ID" ] || refuse_list ERR_LEGACY_WRONG_RECIPIENT 'the list is for another client'
  if ! is_uint "$list_sequence" || ! is_uint "$list_expires"; then
    refuse_list ERR_LEGACY_LIST_INVALID 'bad sequence or expiry'
  fi
  last_sequence=$(cat "$DATA/sequence" 2>/dev/null || printf '0')
  is_uint "$last_sequence" || last_sequence=0
  [ "$list_sequence" -ge "$last_sequence" ] ||
    refuse_list ERR_LEGACY_ROLLBACK "list sequence $list_sequence is older than $last_sequence (replayed)"
  [ "$list_expires" -gt "$(date +%s)" ] || refuse_list ERR_LEGACY_EXPIRED 'the list has expired'
  printf '%s\n' "$list_sequence" >"$DATA/sequence.new" && mv "$DATA/sequence.new" "$DATA/sequence"
}

# Decides from runs/ID whether this policy version runs (the agent's rerun rules, docs/agent.md).
should_run() {
  should_record="$DATA/runs/$1"
  [ -f "$should_record" ] || return 0
  read -r should_version should_outcome <"$should_record" || return 0
  [ "$should_version" = "$2" ] && return 1
  case $3 in
    never) return 1 ;;
    always) return 0 ;;
    if-failed) [ "$should_outcome" != succeeded ] ;;
    if-succeeded) [ "$should_outcome" = succeeded ] ;;
    *) return 1 ;;
  esac
}

is_success() {
  case ",$2," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

# One deployment (the d_* fields read from its line): download the tar, check its size and SHA-256 against the signed list, unpack,
# run with the time limit, record and report the outcome. Nothing runs after a mismatch.
deploy() {
  if ! is_word "$d_id" || ! is_uint "$d_version" || ! is_word "$d_pkg" || ! is_word "$d_pver" ||
    ! is_hex64 "$d_sha" || ! is_uint "$d_size" || ! is_uint "$d_limit" || ! is_inner_path "$d_workdir" ||
    [ -z "$d_command" ]; then
    say "error ERR_LEGACY_LIST_INVALID: deployment $d_id is malformed; skipped" >&2
    REFUSED=1
    return 0
  fi
  case $d_codes in
    '' | *[!0-9,]*)
      say "error ERR_LEGACY_LIST_INVALID: deployment $d_id has bad exit codes; skipped" >&2
      REFUSED=1
      return 0
      ;;
  esac
  should_run "$d_id" "$d_version" "$d_rerun" || return 0
  queue_status policy-received "$d_id" "$d_version" -

  d_tar="$WORK/$d_pkg-$d_pver.tar"
  queue_status download-started "$d_id" "$d_version" -
  http GET "$SITE_URL/legacy/v1/packages/$d_pkg/$d_pver.tar" "$d_tar"
  if [ "$HTTP_STATUS" != 200 ]; then
    printf 'HTTP %s %s\n' "$HTTP_STATUS" "$(error_code_of "$d_tar")" >"$WORK/detail"
    queue_status download-failed "$d_id" "$d_version" - "$WORK/detail"
    say "error ERR_LEGACY_HTTP: $d_id: download failed (HTTP $HTTP_STATUS)" >&2
    REFUSED=1
    return 0
  fi
  d_got_size=$(wc -c <"$d_tar" | tr -d ' ')
  d_got_sha=$(sha256sum "$d_tar" | cut -d ' ' -f 1)
  if [ "$d_got_size" != "$d_size" ] || [ "$d_got_sha" != "$d_sha" ]; then
    rm -f "$d_tar"
    printf 'tar is %s bytes with SHA-256 %s; the signed list says %s bytes, %s\n' \
      "$d_got_size" "$d_got_sha" "$d_size" "$d_sha" >"$WORK/detail"
    queue_status hash-mismatch "$d_id" "$d_version" - "$WORK/detail"
    say "error ERR_LEGACY_HASH_MISMATCH: $d_id: the package does not match the signed list; nothing runs" >&2
    REFUSED=1
    return 0
  fi
  queue_status download-completed "$d_id" "$d_version" -

  d_dir="$DATA/packages/$d_pkg/$d_pver"
  rm -rf "$d_dir.new"
  mkdir -p "$d_dir.new" || die ERR_LEGACY_DATA "cannot write $d_dir"
  if ! tar -xf "$d_tar" -C "$d_dir.new"; then
    rm -rf "$d_dir.new"
    queue_status program-not-started "$d_id" "$d_version" -
    say "error ERR_LEGACY_UNPACK: $d_id: the package could not be unpacked" >&2
    return 0
  fi
  rm -f "$d_tar"
  rm -rf "$d_dir" && mv "$d_dir.new" "$d_dir"

  mkdir -p "$DATA/runs"
  # Recorded before the program starts: a killed run is never run again as if it never happened.
  printf '%s started\n' "$d_version" >"$DATA/runs/$d_id"
  queue_status program-started "$d_id" "$d_version" -
  d_out="$WORK/output"
  if command -v timeout >/dev/null 2>&1; then
    (cd "$d_dir/$d_workdir" && STEWARD_PACKAGE_DIR=$d_dir && export STEWARD_PACKAGE_DIR &&
      exec timeout -k 10 "$d_limit" sh -c "$d_command") </dev/null >"$d_out" 2>&1
    d_exit=$?
  else
    say 'warning: timeout(1) is missing: the time limit is not enforced' >&2
    (cd "$d_dir/$d_workdir" && STEWARD_PACKAGE_DIR=$d_dir && export STEWARD_PACKAGE_DIR &&
      exec sh -c "$d_command") </dev/null >"$d_out" 2>&1
    d_exit=$?
  fi
  if command -v timeout >/dev/null 2>&1 && [ "$d_exit" -eq 124 ]; then
    printf '%s failed\n' "$d_version" >"$DATA/runs/$d_id"
    queue_status program-timed-out "$d_id" "$d_version" "$d_exit" "$d_out"
    say "$d_id: timed out after $d_limit s"
  elif is_success "$d_exit" "$d_codes"; then
    printf '%s succeeded\n' "$d_version" >"$DATA/runs/$d_id"
    queue_status program-succeeded "$d_id" "$d_version" "$d_exit" "$d_out"
    say "$d_id: succeeded (exit code $d_exit)"
  else
    printf '%s failed\n' "$d_version" >"$DATA/runs/$d_id"
    queue_status program-failed "$d_id" "$d_version" "$d_exit" "$d_out"
    say "$d_id: failed (exit code $d_exit)"
  fi
}

run() {
  insecure=no
  while [ $# -gt 0 ]; do
    case $1 in
      --data) DATA=${2:-} && shift 2 ;;
      --insecure-no-signatures) insecure=yes && shift ;;
      *) die ERR_USAGE "unknown option $1" ;;
    esac
  done
  [ -n "$DATA" ] || die ERR_USAGE 'run needs --data DIR'
  load_config
  WORK=$(mktemp -d "$DATA/.work.XXXXXX") || die ERR_LEGACY_DATA "cannot write to $DATA"
  trap cleanup EXIT
  mode=$(verification_mode "$insecure") || exit 1
  send_status

  http GET "$SITE_URL/legacy/v1/list?verification=$mode" "$WORK/answer"
  [ "$HTTP_STATUS" = 200 ] || fail_http 'fetching the list' "$WORK/answer"
  [ "$(wc -c <"$WORK/answer" | tr -d ' ')" -le "$MAX_LIST_BYTES" ] ||
    refuse_list ERR_LEGACY_LIST_INVALID 'the list is too large'
  signature_line=$(tail -n 1 "$WORK/answer")
  case $signature_line in
    'signature '*) ;;
    *) refuse_list ERR_LEGACY_LIST_INVALID 'the list carries no signature' ;;
  esac
  sed '$d' "$WORK/answer" >"$WORK/list.txt"
  if [ "$mode" = signature ]; then
    verify_signature "${signature_line#signature }" ||
      refuse_list ERR_LEGACY_SIGNATURE_INVALID 'the list is not signed by the pinned site key; nothing runs'
  fi
  check_list

  deployments=0
  # The command line is the rest of the line: `read` keeps its inner spaces as they were signed.
  while read -r d_kind d_id d_version d_pkg d_pver d_sha d_size d_limit d_codes d_rerun d_workdir d_command <&3; do
    [ "$d_kind" = deployment ] || continue
    deploy
    deployments=$((deployments + 1))
  done 3<"$WORK/deployments"
  send_status
  say "List $list_sequence: $deployments deployment(s) checked"
  if [ "$REFUSED" -ne 0 ]; then exit 3; fi
}

main() {
  need curl tar sha256sum base64 od sed tr wc cut head tail date mktemp uname
  command=${1:-}
  [ $# -gt 0 ] && shift
  case $command in
    enroll) enroll "$@" ;;
    run) run "$@" ;;
    -h | --help | help | '')
      sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
      ;;
    *) die ERR_USAGE "unknown command $command (enroll or run)" ;;
  esac
}

main "$@"
