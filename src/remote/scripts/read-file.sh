# A file's content as base64 on one line (phases/adopt/write-inventory.ts: the etcd TLS files a foreign
# flanneld reads); fails, with the shell's reason, when it cannot be read.
# params: FILE
base64 -w0 < "$FILE"
