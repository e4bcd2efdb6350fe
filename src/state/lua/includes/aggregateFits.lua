-- An aggregate written by another layout (size or version) must not be read as this one.
local function aggregateFits(layout, blob)
  return #blob == layout.size and string.byte(blob, 1) == layout.version
end
