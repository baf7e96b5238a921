-- config: materialized=table, scope=customer
-- Each customer's latest bureau report on or before D (docs/strategy.md, "Bureau"): what the
-- risk score's bureau component and the stages' bureau_score_max read.
with

reports as (
    select * from work.stg_bureau
    where report_date <= $snapshot_date
),

final as (
    select
        customer_id,
        arg_max(report_date, report_date) as report_date,
        arg_max(bureau_score, report_date) as bureau_score,
        arg_max(external_overdue_accounts, report_date) as external_overdue_accounts,
    from reports
    group by customer_id
)

select * from final
