# Before an SFTP upload to TARGET (remote/connection.ts): its directory made, stale temporaries removed.
# params: TARGET
fp_dir d "$TARGET"
mkdir -p -- "$d"
fp_stale_temps "$TARGET"
