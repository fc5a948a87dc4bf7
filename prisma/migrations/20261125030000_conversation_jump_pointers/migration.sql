-- AlterTable
ALTER TABLE "conversation_messages" ADD COLUMN     "jump_depth" INTEGER,
ADD COLUMN     "jump_id" UUID;
