# `up --adopt` (phases/up/adopt-docker.ts): Docker's own settings files edited. Each of BACKUP_FROM copied
# to BACKUP_TO (mode and owner too) unless that backup exists (it holds the oldest state), then the edited
# files written (fp_write_files), then REMOVE (files whose content moved to another file) removed.
# params: BACKUP_FROM[] BACKUP_TO[] REMOVE[] PATHS[] MODES[] OWNERS[] TMPS[] BYTES[] SHA256S[] CONTENTS[]
set -e
for i in "${!BACKUP_FROM[@]}"; do
  [ -e "${BACKUP_TO[i]}" ] || cp -a -- "${BACKUP_FROM[i]}" "${BACKUP_TO[i]}"
done
fp_write_files
if ((${#REMOVE[@]})); then rm -f -- "${REMOVE[@]}"; fi
