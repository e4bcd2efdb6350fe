-- An exclusive score bound for ZREMRANGEBYSCORE, printed exactly (tostring keeps only 14 digits). Cached per call:
-- the entities of one transaction usually prune at the same bound.
local SCORE_BOUNDS = {}
local function scoreBound(score)
  local bound = SCORE_BOUNDS[score]
  if not bound then
    bound = string.format('(%.17g', score)
    SCORE_BOUNDS[score] = bound
  end
  return bound
end
