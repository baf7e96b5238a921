-- What the manifest says about an action date: per snapshot date, strategy version and variant,
-- how many actions. One row per combination; no personal data.
with

actions as (
    select * from marts.collection_actions
    where action_date = $action_date
),

final as (
    select
        actions.snapshot_date,
        actions.strategy_version,
        actions.strategy_variant,
        count(*) as actions,
        count(*) filter (
            where list_bool_or(list_transform(actions.loan_ids, lambda loan_id: contains(loan_id, ';')))
        ) as loan_ids_with_separator,
    from actions
    group by all
    order by all
)

select * from final
