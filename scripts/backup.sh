#!/usr/bin/env bash
# Nightly backup of DATABASE_URL: pg_dump custom format into BACKUP_DIR, checked readable, then rotated:
# daily dumps kept BACKUP_KEEP_DAYS (14), the dump of the 1st of each month kept BACKUP_KEEP_MONTHLY_DAYS
# (180). Copy BACKUP_DIR off the machine afterwards (BACKUP_COPY, e.g. "rclone copy {} remote:mbolo"):
# a backup on the same disk dies with it. Redis is not backed up: it holds nothing the database lacks.
set -euo pipefail
# Dumps hold every member's phone and money: readable by the owner only, whatever the caller's umask.
umask 077

: "${DATABASE_URL:?DATABASE_URL is not set}"
dir="${BACKUP_DIR:-/var/backups/mbolo}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
keep_monthly_days="${BACKUP_KEEP_MONTHLY_DAYS:-180}"

# pg_dump reads libpq URLs: no SQLAlchemy driver suffix, postgres:// spelt out.
url="${DATABASE_URL/postgresql+psycopg:\/\//postgresql://}"
url="${url/#postgres:\/\//postgresql://}"

mkdir -p "$dir"
chmod 700 "$dir"
stamp="$(date -u +%Y-%m-%d)"
final="$dir/mbolo-$stamp.dump"
partial="$dir/.mbolo-$stamp.dump.partial"
started=$SECONDS

pg_dump --format=custom --no-owner --no-privileges --file="$partial" --dbname="$url"
pg_restore --list "$partial" >/dev/null # the archive's table of contents reads back
chmod 600 "$partial"
mv "$partial" "$final"
if [ "$(date -u +%d)" = "01" ]; then
  cp "$final" "$dir/monthly-mbolo-$stamp.dump"
fi
find "$dir" -maxdepth 1 -name 'mbolo-*.dump' -mtime +"$keep_days" -delete
find "$dir" -maxdepth 1 -name 'monthly-mbolo-*.dump' -mtime +"$keep_monthly_days" -delete
if [ -n "${BACKUP_COPY:-}" ]; then
  sh -c "${BACKUP_COPY//\{\}/$dir}"
fi
echo "backup: $final $(du -h "$final" | cut -f1) in $((SECONDS - started))s"
