#!/bin/sh
# Prisma's native schema engine cannot be downloaded on these machines. `prisma generate` only needs
# PRISMA_SCHEMA_ENGINE_BINARY to point at an executable; if anything ever calls it, fail loudly.
echo "makima: Prisma's schema engine is not available here." >&2
echo "Migrations are plain SQL in prisma/migrations, applied by 'makima migrate' (src/db/migrate.ts)." >&2
exit 1
