// Prisma CLI configuration: only `prisma generate` is used here (see DESIGN §2).
import { defineConfig } from 'prisma-cli/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
