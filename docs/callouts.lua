-- Quarto's callouts (::: {.callout-note title="..."}) as boxes with a title, for pandoc without Quarto.
local names = {note = 'Note', tip = 'Tip', warning = 'Warning', important = 'Important', caution = 'Caution'}
function Div(div)
  for _, class in ipairs(div.classes) do
    local kind = class:match('^callout%-(%a+)$')
    if kind then
      local title = div.attributes['title'] or names[kind] or kind
      div.attributes['title'] = nil
      div.classes = {'callout', 'callout-' .. kind}
      table.insert(div.content, 1, pandoc.Div(pandoc.Para(pandoc.Strong(pandoc.Str(title))), {class = 'callout-title'}))
      return div
    end
  end
end
