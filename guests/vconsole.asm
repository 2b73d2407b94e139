; output: vconsole.elf
; vconsole - a virtio-console driver (virtio 1.2 5.3, port 0, no MULTIPORT) over
; virtio-mmio version 2, polled. It writes a greeting through the console's transmitq,
; then echoes what arrives on its receiveq until it receives "q" (not echoed), and
; reports on COM1 how many bytes it echoed. On vmxlab the console's output goes where
; COM1's goes; on QEMU the same happens with one stdio chardev muxed between the
; serial port and the console (tests/fixtures/guest-setup.ts), so the streams compare
; byte for byte. Console input (tests/fixtures/guest-setup.ts): "virtio echo\nq".
; Expected output (verified on QEMU 7.2 microvm):
;   vconsole: start
;   vconsole: virtio-console at transport 7
;   features VERSION_1 accepted: ok
;   queues ready: ok
;   hello through virtio-console
;   virtio echo
;   vconsole: echoed 12 bytes
;   vconsole: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10
VIRTIO_ID_CONSOLE equ 3
QSIZE       equ 8
RX_BYTES    equ 64

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    mov eax, VIRTIO_ID_CONSOLE
    call virtio_find
    jnc .found
    CHECK "virtio-console present", 0, 1
    mov esi, msg_name
    jmp check_done
.found:
    mov [con_base], ebx
    mov esi, msg_at
    call uart_puts
    mov eax, ecx
    call print_dec
    call uart_newline

    xor eax, eax
    mov edx, VIRTIO_F_VERSION_1_HI
    call virtio_negotiate
    setc al
    movzx eax, al
    CHECK "features VERSION_1 accepted", eax, 0
    jc .fail

    mov esi, rxq                    ; queue 0: receiveq (port 0)
    mov dword [esi + VQ_INDEX], 0
    mov dword [esi + VQ_SIZE], QSIZE
    mov dword [esi + VQ_DESC], rx_desc
    mov dword [esi + VQ_AVAIL], rx_avail
    mov dword [esi + VQ_USED], rx_used
    call virtio_queue_init
    setc dl
    mov esi, txq                    ; queue 1: transmitq (port 0)
    mov dword [esi + VQ_INDEX], 1
    mov dword [esi + VQ_SIZE], QSIZE
    mov dword [esi + VQ_DESC], tx_desc
    mov dword [esi + VQ_AVAIL], tx_avail
    mov dword [esi + VQ_USED], tx_used
    call virtio_queue_init
    setc al
    or al, dl
    movzx eax, al
    CHECK "queues ready", eax, 0
    jnz .fail
    call virtio_driver_ok
    mov esi, rxq                    ; both queues are polled
    mov eax, 1
    call vq_no_interrupt
    mov esi, txq
    call vq_no_interrupt

    mov esi, msg_hello
    mov ecx, msg_hello_len
    call con_write

    ; Echo: one receive buffer at a time; each chunk goes back out up to the "q".
    xor ebp, ebp                    ; bytes echoed
.receive:
    mov esi, rxq
    mov eax, rx_buffer
    mov edx, RX_BYTES
    mov edi, VQ_F_WRITE
    xor ecx, ecx
    call vq_set_desc
    call vq_kick
.wait_rx:
    call vq_take_used
    jnc .got
    pause
    jmp .wait_rx
.got:
    mov ecx, edx                    ; bytes received
    mov edi, rx_buffer
    mov al, 'q'
    mov ebx, ecx
    repne scasb                     ; look for the end mark
    jne .echo_all
    lea ecx, [edi - rx_buffer - 1]  ; bytes before the "q"
    mov esi, rx_buffer
    add ebp, ecx
    call con_write
    jmp .done
.echo_all:
    mov ecx, ebx
    mov esi, rx_buffer
    add ebp, ecx
    call con_write
    jmp .receive
.done:
    mov esi, msg_echoed
    call uart_puts
    mov eax, ebp
    call print_dec
    mov esi, msg_bytes
    call uart_puts
.fail:
    mov esi, msg_name
    jmp check_done

; con_write: ESI = bytes, ECX = count (0: nothing). Copies them to the transmit buffer,
; sends them on the transmitq and waits until the device has taken them.
con_write:
    jecxz .none
    push esi
    push edi
    push eax
    push edx
    push ecx
    mov edi, tx_buffer
    rep movsb
    pop edx                         ; length
    push edx
    mov esi, txq
    mov eax, tx_buffer
    xor edi, edi                    ; device-readable, no next
    xor ecx, ecx
    call vq_set_desc
    call vq_kick
.wait:
    call vq_take_used
    jnc .sent
    pause
    jmp .wait
.sent:
    pop ecx
    pop edx
    pop eax
    pop edi
    pop esi
.none:
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"
%include "virtio.inc"

    FLAT_GDT

msg_name:   db "vconsole", 0
msg_start:  db "vconsole: start", 10, 0
msg_at:     db "vconsole: virtio-console at transport ", 0
msg_hello:  db "hello through virtio-console", 10
msg_hello_len equ $ - msg_hello
msg_echoed: db "vconsole: echoed ", 0
msg_bytes:  db " bytes", 10, 0

    BSS_BEGIN
con_base:       resd 1
    alignb 4096
rx_desc:        resb 16 * QSIZE
rx_avail:       resb 6 + 2 * QSIZE
    alignb 16
rx_used:        resb 6 + 8 * QSIZE
    alignb 16
tx_desc:        resb 16 * QSIZE
tx_avail:       resb 6 + 2 * QSIZE
    alignb 16
tx_used:        resb 6 + 8 * QSIZE
    alignb 16
rxq:            resb VQ_BYTES
txq:            resb VQ_BYTES
rx_buffer:      resb RX_BYTES
tx_buffer:      resb 256
stack:          resb 4096
stack_top:
    BSS_END
