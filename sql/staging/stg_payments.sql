-- config: materialized=view, scope=customer
-- Payments during the action day (landing/<A>/payments/, read and checked by arrears/payments.py:
-- every row is of day A, on a loan of the snapshot A - 1, with a positive amount).
with

source as (
    select * from work.payments
),

final as (
    select
        snapshot_date as action_date,
        payment_id,
        loan_id,
        paid_at,
        amount,
    from source
)

select * from final
