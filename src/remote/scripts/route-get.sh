# The route lookups the facts script could not make (phases/shared/gather-facts.ts): the agents' public
# IPs, known only once every host's facts are in.
# params: PEERS[]
export LC_ALL=C
fp_routegets "${PEERS[@]}"
true
