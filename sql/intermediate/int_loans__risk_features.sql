-- config: materialized=table, scope=customer
-- The roll-forward model's features of tonight's aged loans (docs/models.md). The same features,
-- by the same names, are what sql/risk/training_rows.sql builds for each sampled night of the
-- committed history; tests/test_risk_features.py holds the two to the same values. Reads bounded
-- windows only: tonight's results, one committed partition 30, 60 and 90 days back, and the
-- contact events of the last 30 days. No personal data: amounts, days and counts.
with

today as (
    select *
    from work.loan_aging
    where is_aged
),

risk as (
    select loan_id, months_delinquent, broken_promises
    from work.int_loans__decide_risk
),

-- the latest committed night in each look-back window, found by the caller
-- (arrears.risk.features.lookback_dates) so that only those three partitions are scanned
before as (
    select
        aging.loan_id,
        max(aging.dpd) filter (where aging.snapshot_date = $night_30d_before) as dpd_30d_before,
        max(aging.dpd) filter (where aging.snapshot_date = $night_60d_before) as dpd_60d_before,
        max(aging.dpd) filter (where aging.snapshot_date = $night_90d_before) as dpd_90d_before,
        max(aging.paid_to_date_amount) filter (where aging.snapshot_date = $night_30d_before)
            as paid_to_date_30d_before,
        max(aging.outstanding_principal) filter (where aging.snapshot_date = $night_30d_before)
            as outstanding_30d_before,
        max(aging.paid_to_date_amount) filter (where aging.snapshot_date = $night_90d_before)
            as paid_to_date_90d_before,
        max(aging.outstanding_principal) filter (where aging.snapshot_date = $night_90d_before)
            as outstanding_90d_before,
    from marts.loan_aging as aging
    semi join today
        on today.loan_id = aging.loan_id
    where aging.snapshot_date in ($night_30d_before, $night_60d_before, $night_90d_before)
    group by aging.loan_id
),

-- outcomes of the last 30 nights' events, tonight's included (a rerun reads its own once)
contacts as (
    select
        customer_id,
        count(*) as contacts_30d,
        count(*) filter (where outcome in ('CONNECTED', 'PROMISE', 'REFUSED', 'DISPUTE', 'VISITED'))
            as right_party_30d,
        count(*) filter (where outcome = 'PROMISE') as promises_30d,
        count(*) filter (where outcome in ('NO_ANSWER', 'FAILED', 'NOT_FOUND')) as unreached_30d,
    from work.stg_contact_events
    where (is_this_run or snapshot_date < $snapshot_date::date)
      and snapshot_date > $snapshot_date::date - 30
    group by customer_id
),

final as (
    select
        today.loan_id,
        today.dpd::double as dpd,
        before.dpd_30d_before::double as dpd_30d_before,
        before.dpd_60d_before::double as dpd_60d_before,
        before.dpd_90d_before::double as dpd_90d_before,
        coalesce(risk.months_delinquent, 0)::double as months_delinquent,
        coalesce(risk.broken_promises, 0)::double as broken_promises,
        ($snapshot_date::date - today.last_payment_date)::double as days_since_payment,
        today.outstanding_principal::double as outstanding_principal,
        today.overdue_amount::double as overdue_amount,
        today.overdue_installments::double as overdue_installments,
        today.next_due_amount::double as next_due_amount,
        (today.paid_to_date_amount - before.paid_to_date_30d_before)::double as paid_30d,
        (today.outstanding_principal - before.outstanding_30d_before)::double
            as balance_change_30d,
        (today.outstanding_principal - before.outstanding_90d_before)::double
            as balance_change_90d,
        (today.paid_to_date_amount - before.paid_to_date_90d_before)::double as paid_90d,
        -- what the month's payments were against the balance a month before
        ((today.paid_to_date_amount - before.paid_to_date_30d_before)
            / nullif(before.outstanding_30d_before, 0))::double as paid_to_balance_30d,
        today.principal_amount::double as principal_amount,
        (today.outstanding_principal / nullif(today.principal_amount, 0))::double as utilisation,
        coalesce(contacts.contacts_30d, 0)::double as contacts_30d,
        coalesce(contacts.right_party_30d, 0)::double as right_party_30d,
        coalesce(contacts.promises_30d, 0)::double as promises_30d,
        coalesce(contacts.unreached_30d, 0)::double as unreached_30d,
    from today
    left join risk
        on risk.loan_id = today.loan_id
    left join before
        on before.loan_id = today.loan_id
    left join contacts
        on contacts.customer_id = today.customer_id
)

select * from final
