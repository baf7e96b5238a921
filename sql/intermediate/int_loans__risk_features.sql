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

-- the latest committed night in each look-back window (monthly snapshots land in them too)
lookback as (
    select
        max(snapshot_date) filter (
            where snapshot_date between $snapshot_date::date - 45 and $snapshot_date::date - 30
        ) as d30,
        max(snapshot_date) filter (
            where snapshot_date between $snapshot_date::date - 75 and $snapshot_date::date - 60
        ) as d60,
        max(snapshot_date) filter (
            where snapshot_date between $snapshot_date::date - 105 and $snapshot_date::date - 90
        ) as d90,
    from marts.loan_aging
    where snapshot_date between $snapshot_date::date - 105 and $snapshot_date::date - 30
),

before as (
    select
        aging.loan_id,
        max(aging.dpd) filter (where aging.snapshot_date = lookback.d30) as dpd_30d_before,
        max(aging.dpd) filter (where aging.snapshot_date = lookback.d60) as dpd_60d_before,
        max(aging.dpd) filter (where aging.snapshot_date = lookback.d90) as dpd_90d_before,
        max(aging.paid_to_date_amount) filter (where aging.snapshot_date = lookback.d30)
            as paid_to_date_30d_before,
        max(aging.outstanding_principal) filter (where aging.snapshot_date = lookback.d30)
            as outstanding_30d_before,
    from marts.loan_aging as aging
    inner join lookback
        on aging.snapshot_date in (lookback.d30, lookback.d60, lookback.d90)
    semi join today
        on today.loan_id = aging.loan_id
    where aging.snapshot_date between $snapshot_date::date - 105 and $snapshot_date::date - 30
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
