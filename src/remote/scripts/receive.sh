# An upload streamed on stdin (remote/upload.ts receiveScript; run with `bash -c`, the data on stdin):
# decoded as ENCODING (kept at KEEP_AT too when set), verified and renamed over TARGET (fp_receive).
# params: TARGET TMP BYTES SHA256 MODE OWNER ENCODING KEEP_AT
fp_receive "$TARGET" "$TMP" "$BYTES" "$SHA256" "$MODE" "$OWNER" "$ENCODING" "$KEEP_AT"
