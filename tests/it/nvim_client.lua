-- Neovim as the language client: opens $LAYERC_SPEC, starts `$LAYERC_BIN lsp`, records the
-- diagnostics Neovim received, fixes the runtime typo, records them again, stops the server and
-- writes everything to $LAYERC_OUT. Run with `nvim --headless -u NONE -c 'luafile ...'`.
local out = {}
local function log(line) table.insert(out, line) end
local function finish()
  vim.fn.writefile(out, vim.env.LAYERC_OUT)
  vim.cmd('qa!')
end

local function record(label, buf)
  local diags = vim.diagnostic.get(buf)
  log(string.format('%s count %d', label, #diags))
  for _, d in ipairs(diags) do
    local message = d.message:gsub('\n', ' | ')
    log(string.format('%s %d:%d-%d:%d %s %s', label, d.lnum, d.col, d.end_lnum, d.end_col,
      tostring(d.code), message))
  end
end

vim.cmd('edit ' .. vim.fn.fnameescape(vim.env.LAYERC_SPEC))
local buf = vim.api.nvim_get_current_buf()
local exited = false
local id = vim.lsp.start_client({
  name = 'layerc',
  cmd = { vim.env.LAYERC_BIN, 'lsp' },
  root_dir = vim.fn.fnamemodify(vim.env.LAYERC_SPEC, ':p:h'),
  on_exit = function(code, signal)
    log(string.format('exit %d %d', code, signal))
    exited = true
  end,
})
vim.lsp.buf_attach_client(buf, id)

if not vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 20) then
  log('timeout waiting for diagnostics')
end
record('before', buf)

-- Fix the typo `al2O23` → `al2023` with a one-character edit, as typing would.
local line = vim.api.nvim_buf_get_lines(buf, 1, 2, false)[1]
local at = line:find('al2O23', 1, true)
vim.api.nvim_buf_set_text(buf, 1, at + 2, 1, at + 3, { '0' })
if not vim.wait(30000, function() return #vim.diagnostic.get(buf) == 0 end, 20) then
  log('timeout waiting for the fix')
end
record('after', buf)

vim.lsp.stop_client(id)
if not vim.wait(10000, function() return exited end, 20) then
  log('timeout waiting for the server to exit')
end
finish()
