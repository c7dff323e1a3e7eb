# Small files written from the script itself (remote/upload.ts writeFilesPart): units, env files, TLS
# material. RemoteHost.run sends a script as one compound command, so a cut connection never leaves some
# files new and others half-written.
# params: PATHS[] MODES[] OWNERS[] TMPS[] BYTES[] SHA256S[] CONTENTS[]
set -e
fp_write_files
