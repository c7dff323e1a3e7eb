# A file already written to TMP (SFTP; remote/upload.ts installScript): verified and renamed over TARGET
# (fp_verify_install); TMP removed on every other way out.
# params: TARGET TMP BYTES SHA256 MODE OWNER
fp_cleanup_paths+=("$TMP")
trap fp_cleanup EXIT
fp_verify_install "$TMP" "$TARGET" "$BYTES" "$SHA256" "$MODE" "$OWNER"
