"""kabinet: the GraphQL API of the insured person's personal cabinet."""
