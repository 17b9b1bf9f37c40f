#!/usr/bin/env bash
# The README's tour: run it against `make run` (or BASE=<an API's URL> bash docs/tour.sh). It needs curl
# and python3 only; each run signs up its own instructor and learner, so it can run again and again.
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8000}
RUN=$(date +%s)-$$        # this run's emails and Idempotency-Keys are its own (a UUID a key would do too)
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }  # json '["a"][0]': a field of JSON
call() {  # call TOKEN METHOD PATH [BODY [IDEMPOTENCY-KEY]]; an error answer stops the tour and is shown
  local answer
  if ! answer=$(curl -sS --fail-with-body -X "$2" "$BASE$3" -H 'Content-Type: application/json' \
      ${1:+-H "Authorization: Bearer $1"} ${4:+-d "$4"} ${5:+-H "Idempotency-Key: $5"}); then
    echo "$2 $3 failed: $answer" >&2; return 1
  fi
  echo "$answer"
}
sign_up() {  # sign_up EMAIL NAME ROLE: a new account, logged in: its access token
  call "" POST /auth/signup "{\"email\": \"$1\", \"password\": \"Tour-pass-1\", \"name\": \"$2\", \"roles\": [\"$3\"]}" >/dev/null
  call "" POST /auth/login "{\"email\": \"$1\", \"password\": \"Tour-pass-1\"}" | json '["access_token"]'
}
lesson() {  # lesson TOKEN COURSE SECTION TITLE KIND: a new lesson's id
  call "$1" POST "/instructor/courses/$2/sections/$3/lessons" "{\"title\": \"$4\", \"kind\": \"$5\"}" | json '["lesson_id"]'
}

echo "== an instructor and a learner sign up"
ITOKEN=$(sign_up "teacher-$RUN@example.com" "Tour Teacher" instructor)
LTOKEN=$(sign_up "learner-$RUN@example.com" "김투어" learner)

echo "== the instructor makes course A: one lesson with a file (a presigned S3 upload) and a coupon"
A=$(call "$ITOKEN" POST /instructor/courses \
  '{"title": "파이썬 입문", "category": "programming", "price": {"amount": 39000, "currency": "KRW"}}' | json '["course_id"]')
SECTION=$(call "$ITOKEN" POST "/instructor/courses/$A/sections" '{"title": "Basics"}' | json '["section_id"]')
L=$(lesson "$ITOKEN" "$A" "$SECTION" "Hello, Python" document)
FILE='# Hello, Python'
UPLOAD_URL=$(call "$ITOKEN" POST "/instructor/courses/$A/lessons/$L/upload-url" \
  "{\"content_type\": \"text/markdown\", \"size_bytes\": ${#FILE}}" | json '["url"]')
curl -sS --fail-with-body -X PUT "$UPLOAD_URL" -H 'Content-Type: text/markdown' --data-binary "$FILE"
call "$ITOKEN" POST "/instructor/courses/$A/lessons/$L/upload-complete" >/dev/null
call "$ITOKEN" POST "/instructor/courses/$A/coupons" \
  '{"code": "WELCOME10", "kind": "percent", "value": 10, "max_redemptions": 100, "expires_at": "2099-01-01T00:00:00Z"}' >/dev/null
call "$ITOKEN" POST "/instructor/courses/$A/publish" | json '["status"]'

echo "== and course B: 100,000 KRW, ten lessons"
B=$(call "$ITOKEN" POST /instructor/courses \
  '{"title": "데이터 분석", "category": "data", "price": {"amount": 100000, "currency": "KRW"}}' | json '["course_id"]')
SECTION_B=$(call "$ITOKEN" POST "/instructor/courses/$B/sections" '{"title": "Ten steps"}' | json '["section_id"]')
B_LESSONS=()
for step in 1 2 3 4 5 6 7 8 9 10; do
  LESSON=$(lesson "$ITOKEN" "$B" "$SECTION_B" "Step $step" video)
  B_LESSONS+=("$LESSON")
done
call "$ITOKEN" POST "/instructor/courses/$B/publish" | json '["status"]'

echo "== the learner tops up the wallet (the fake payment gateway confirms at once)"
TOPUP=$(call "$LTOKEN" POST /wallet/topups '{"amount": {"amount": 50000, "currency": "KRW"}}' "$RUN-topup")
TOPUP_ID=$(echo "$TOPUP" | json '["topup_id"]')
TOPUP_PAYMENT=$(echo "$TOPUP" | json '["checkout"]["payment_key"]')
call "$LTOKEN" POST "/wallet/topups/$TOPUP_ID/confirm" "{\"payment_key\": \"$TOPUP_PAYMENT\"}" "$RUN-topup-confirm" >/dev/null
call "$LTOKEN" GET /wallet | json '["balance"]'

echo "== and buys both in one checkout: coupon WELCOME10 (course A), 20,000 KRW from the wallet, the rest by card"
CHECKOUT=$(call "$LTOKEN" POST /checkouts "{\"items\": [{\"course_id\": \"$A\"}, {\"course_id\": \"$B\"}],
  \"coupon_code\": \"WELCOME10\", \"wallet_amount\": {\"amount\": 20000, \"currency\": \"KRW\"}}" "$RUN-checkout")
CHECKOUT_ID=$(echo "$CHECKOUT" | json '["checkout_id"]')
PAYMENT_KEY=$(echo "$CHECKOUT" | json '["payment"]["payment_key"]')   # a real client gets it from Toss's window
DUE=$(echo "$CHECKOUT" | json '["amount_due"]["amount"]')
PAID=$(call "$LTOKEN" POST "/checkouts/$CHECKOUT_ID/confirm" \
  "{\"payment_key\": \"$PAYMENT_KEY\", \"amount\": {\"amount\": $DUE, \"currency\": \"KRW\"}}" "$RUN-checkout-confirm")
echo "checkout: $(echo "$PAID" | json '["status"]'), $DUE KRW by card"
ORDER_B=$(echo "$PAID" | python3 -c \
  'import json,sys; print(next(o["order_id"] for o in json.load(sys.stdin)["orders"] if o["course_id"] == sys.argv[1]))' "$B")

echo "== the learner studies course A: opens the lesson's file, completes it, and has a certificate"
FILE_URL=$(call "$LTOKEN" GET "/courses/$A/lessons/$L/content" | json '["url"]')
curl -sS --fail-with-body "$FILE_URL"; echo
call "$LTOKEN" PUT "/me/enrollments/$A/lessons/$L/progress" '{"completed": true, "position_seconds": 300}' | json '["status"]'
CERTIFICATE=$(call "$LTOKEN" GET "/me/certificates/$A" | json '["verification_id"]')
echo "certificate issued: $CERTIFICATE"
call "" GET "/certificates/$CERTIFICATE"                               # anyone can verify it
PDF=${TMPDIR:-/tmp}/certificate-$CERTIFICATE.pdf
curl -sS --fail-with-body "$BASE/certificates/$CERTIFICATE?format=pdf" -H 'Accept: application/pdf' -o "$PDF"
echo; echo "the certificate as a PDF: $PDF"

echo "== reviews it and asks a question, which the instructor answers"
call "$LTOKEN" POST "/courses/$A/reviews" '{"rating": 5, "text": "설명이 명확해요"}' | json '["rating"]'
QUESTION=$(call "$LTOKEN" POST "/courses/$A/questions" \
  '{"title": "설치가 안 돼요", "body": "pip install이 실패합니다"}' | json '["question_id"]')
call "$ITOKEN" POST "/questions/$QUESTION/answers" '{"body": "Python 3.11을 써 보세요"}' >/dev/null
call "$LTOKEN" GET "/questions/$QUESTION" | json '["status"]'

echo "== studies 3 of course B's 10 lessons"
for LESSON in "${B_LESSONS[@]:0:3}"; do
  call "$LTOKEN" PUT "/me/enrollments/$B/lessons/$LESSON/progress" '{"completed": true}' | json '["progress_percent"]'
done

echo "== the instructor's dashboard (the last 30 days)"
call "$ITOKEN" GET /instructor/dashboard | json '["totals"]'

echo "== the learner asks for a refund of course B: what was paid less the 3/10 studied"
call "$LTOKEN" GET "/orders/$ORDER_B/refund-quote"
REFUND=$(call "$LTOKEN" POST "/orders/$ORDER_B/refund" '{"reason": "not for me"}' "$RUN-refund" | json '["refunds"][-1]')
echo "refund: $REFUND"
REFUNDED=$(call "$LTOKEN" GET "/orders/$ORDER_B" | json '["refunded"]["amount"]')
echo "refunded: $REFUNDED KRW (to the card and the wallet, in the parts each paid)"
echo "== the tour is over"
