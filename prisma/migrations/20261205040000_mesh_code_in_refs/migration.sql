-- The mesh (docs/design.md §11): a task claimed by a remote worker keeps its code in its branch of
-- the contract's repository (branch + head_commit), not in a worktree on the server's disk, until a
-- local claim materialises a worktree again.
-- AlterTable
ALTER TABLE "tasks" ADD COLUMN "code_in_refs" BOOLEAN NOT NULL DEFAULT false;
