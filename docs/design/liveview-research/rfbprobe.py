import socket,sys,struct
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
v=s.recv(12); print('server version',v)
s.sendall(b'RFB 003.008\n')
n=s.recv(1)[0]; types=list(s.recv(n)); print('security types',types)
s.sendall(bytes([1]))
print('SecurityResult',struct.unpack('>I',s.recv(4))[0])
s.sendall(bytes([1]))  # ClientInit shared
hdr=b''
while len(hdr)<24: hdr+=s.recv(24-len(hdr))
w,h=struct.unpack('>HH',hdr[:4]); bpp,depth,be,tc=hdr[4:8]; nl=struct.unpack('>I',hdr[20:24])[0]
name=s.recv(nl); print('ServerInit',w,h,'bpp',bpp,'depth',depth,'name',name)
