-- The suppressed actions the PostgreSQL sink copies for an action date (no personal data).
with

suppressed as (
    select * from marts.suppressed_actions
    where action_date = $action_date
),

final as (
    select
        suppressed.action_id,
        suppressed.action_date,
        suppressed.snapshot_date,
        suppressed.customer_id,
        suppressed.loan_ids,
        suppressed.primary_loan_id,
        suppressed.channel,
        suppressed.stage,
        suppressed.reason,
        suppressed.detail,
        suppressed.risk_score,
        suppressed.overdue_amount,
        suppressed.strategy_version,
        suppressed.strategy_variant,
    from suppressed
    order by suppressed.action_id, suppressed.reason
)

select * from final
