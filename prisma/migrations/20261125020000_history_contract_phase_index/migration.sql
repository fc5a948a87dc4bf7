-- CreateIndex
CREATE INDEX "history_events_contract_id_phase_seq_idx" ON "history_events"("contract_id", "phase", "seq");
