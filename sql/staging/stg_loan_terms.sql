-- config: materialized=view, scope=customer
-- What the bureau files say about a loan's contract beyond aging: when it opened and for how
-- much (docs/bureau.md), and the principal loan_aging carries for the learned risk. Apart
-- from stg_loans, whose columns loan_aging carries whole.
with

source as (
    select * from work.loans
),

final as (
    select
        loan_id,
        origination_date,
        cast(principal_amount as decimal(18,2)) as principal_amount,
    from source
)

select * from final
