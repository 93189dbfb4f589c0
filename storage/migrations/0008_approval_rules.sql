-- Approval rules (docs/governance.md): each refund records which rule sent it to a
-- manager or would have, decided in the transaction that reserves its amount
-- (storage.RequestRefund). approval_rule is the rule's code (per_refund, per_payment,
-- per_person_day, reason, age, default), approval_why the sentence people read ("this
-- refund brings the refunds on this payment to 999.98 EUR, at or above 500.00 EUR").
-- Both are empty for a refund no rule held back, for refunds learnt from the provider and
-- for those requested before this migration. Columns with a constant default: instant on
-- any number of refunds, no index, no trigger (storage/bulk.go writes neither).
ALTER TABLE refunds ADD COLUMN approval_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE refunds ADD COLUMN approval_why TEXT NOT NULL DEFAULT '';
