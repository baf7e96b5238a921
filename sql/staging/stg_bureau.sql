-- config: materialized=view, scope=customer
-- Credit-bureau reports in force at D (docs/CONTRACT.md section 10), one per customer and
-- report date; reports dated after D are left for a later night (int_customers__bureau).
with

source as (
    select * from work.bureau
),

final as (
    select
        customer_id,
        report_date,
        bureau_score,
        external_overdue_accounts,
        external_overdue_amount,
        external_total_debt,
        inquiries_90d,
    from source
)

select * from final
